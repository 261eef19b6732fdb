-- Presence is kept per zone: the halls in Bamako, the VIP lounge inside them and the range at
-- Koulikoro have gates of their own, and being inside one must not refuse entry to another.
ALTER TABLE badge_presence ADD COLUMN zone text NOT NULL DEFAULT 'exhibition_halls';
ALTER TABLE badge_presence ALTER COLUMN zone DROP DEFAULT;
ALTER TABLE badge_presence DROP CONSTRAINT badge_presence_pkey;
ALTER TABLE badge_presence ADD PRIMARY KEY (badge_id, zone);
