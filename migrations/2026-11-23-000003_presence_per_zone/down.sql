DELETE FROM badge_presence a USING badge_presence b
 WHERE a.badge_id = b.badge_id AND a.zone > b.zone;
ALTER TABLE badge_presence DROP CONSTRAINT badge_presence_pkey;
ALTER TABLE badge_presence ADD PRIMARY KEY (badge_id);
ALTER TABLE badge_presence DROP COLUMN zone;
