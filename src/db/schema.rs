// In the form `diesel print-schema` writes; keep it in step with migrations/.

pub mod sql_types {
    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "citext"))]
    pub struct Citext;
}

diesel::table! {
    accreditations (id) {
        id -> Uuid,
        event_id -> Uuid,
        participant_id -> Uuid,
        category -> Text,
        status -> Text,
        version -> Int4,
        decided_by -> Nullable<Uuid>,
        decided_at -> Nullable<Timestamptz>,
        decision_reason -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        protocol_level -> Nullable<Text>,
        vetting_state -> Nullable<Text>,
        cleared_identity -> Nullable<Text>,
        created_by -> Nullable<Uuid>,
        protocol_note -> Nullable<Text>,
    }
}

diesel::table! {
    accreditation_counts (id) {
        id -> Int8,
        event_id -> Uuid,
        status -> Text,
        category -> Text,
        n -> Int8,
    }
}

diesel::table! {
    accreditation_approvals (accreditation_id, organizer_id) {
        accreditation_id -> Uuid,
        organizer_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    audit_records (id) {
        id -> Uuid,
        actor_id -> Nullable<Uuid>,
        action -> Text,
        target_type -> Text,
        target_id -> Nullable<Uuid>,
        details -> Jsonb,
        client_ip -> Nullable<Text>,
        created_at -> Timestamptz,
        event_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    badge_overrides (accreditation_id) {
        accreditation_id -> Uuid,
        add_zones -> Array<Text>,
        remove_zones -> Array<Text>,
        add_days -> Array<Date>,
        remove_days -> Array<Date>,
        reason -> Text,
        set_by -> Nullable<Uuid>,
        set_at -> Timestamptz,
    }
}

diesel::table! {
    badge_presence (badge_id, zone) {
        badge_id -> Uuid,
        inside -> Bool,
        updated_at -> Timestamptz,
        zone -> Text,
    }
}

diesel::table! {
    badge_sequences (event_id, category) {
        event_id -> Uuid,
        category -> Text,
        last_value -> Int4,
    }
}

diesel::table! {
    badges (id) {
        id -> Uuid,
        accreditation_id -> Uuid,
        event_id -> Uuid,
        number -> Text,
        zones -> Array<Text>,
        valid_days -> Array<Date>,
        key_id -> Text,
        token -> Nullable<Text>,
        expires_at -> Timestamptz,
        prints -> Int4,
        created_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        end_reason -> Nullable<Text>,
    }
}

diesel::table! {
    delegation_invitations (id) {
        id -> Uuid,
        delegation_id -> Uuid,
        token_hash -> Bytea,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        voided_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    rate_limits (key_digest) {
        key_digest -> Bytea,
        tat -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Citext;

    delegations (id) {
        id -> Uuid,
        event_id -> Uuid,
        country -> Text,
        name -> Text,
        kind -> Text,
        protocol_level -> Text,
        arrival_on -> Nullable<Date>,
        departure_on -> Nullable<Date>,
        member_limit -> Int4,
        member_count -> Int4,
        lead_email -> Nullable<Citext>,
        lead_name -> Text,
        lead_id -> Nullable<Uuid>,
        status -> Text,
        search_text -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    email_tokens (id) {
        id -> Uuid,
        user_id -> Uuid,
        purpose -> Text,
        token_hash -> Bytea,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    events (id) {
        id -> Uuid,
        slug -> Text,
        name -> Text,
        venue -> Text,
        time_zone -> Text,
        starts_on -> Date,
        ends_on -> Date,
        public_days -> Array<Date>,
        status -> Text,
        auto_approve_public -> Bool,
        registration_opens_at -> Nullable<Timestamptz>,
        registration_closes_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        sensitive_categories -> Array<Text>,
        personal_data_purged_at -> Nullable<Timestamptz>,
        vetting_categories -> Array<Text>,
        build_up_days -> Array<Date>,
        tear_down_days -> Array<Date>,
        badge_rules -> Jsonb,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Citext;

    exhibitors (id) {
        id -> Uuid,
        event_id -> Uuid,
        owner_id -> Uuid,
        legal_name -> Text,
        display_name -> Text,
        country -> Text,
        city -> Text,
        website -> Nullable<Text>,
        description -> Text,
        sectors -> Array<Text>,
        pavilion_id -> Nullable<Uuid>,
        contact_name -> Nullable<Text>,
        contact_email -> Nullable<Citext>,
        contact_phone -> Nullable<Text>,
        status -> Text,
        decision_reason -> Nullable<Text>,
        decided_by -> Nullable<Uuid>,
        decided_at -> Nullable<Timestamptz>,
        booth_hall -> Nullable<Text>,
        booth_stand -> Nullable<Text>,
        booth_area_m2 -> Nullable<Float8>,
        staff_quota_override -> Nullable<Int4>,
        staff_quota -> Int4,
        staff_count -> Int4,
        sort_key -> Text,
        search_text -> Text,
        company_key -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        contractor_quota_override -> Nullable<Int4>,
        contractor_quota -> Int4,
        contractor_count -> Int4,
    }
}

diesel::table! {
    gate_devices (id) {
        id -> Uuid,
        event_id -> Uuid,
        name -> Text,
        gates -> Array<Text>,
        zones -> Array<Text>,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        enrollment_code_digest -> Bytea,
        enrollment_expires_at -> Timestamptz,
        enrolled_at -> Nullable<Timestamptz>,
        token_digest -> Nullable<Bytea>,
        revoked_at -> Nullable<Timestamptz>,
        last_seen_at -> Nullable<Timestamptz>,
        last_sync_at -> Nullable<Timestamptz>,
        last_upload_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    gate_sync_changes (event_id, xact, seq) {
        seq -> Int8,
        xact -> Int8,
        event_id -> Uuid,
        badge_id -> Uuid,
    }
}

diesel::table! {
    idempotency_keys (principal, key) {
        principal -> Text,
        key -> Text,
        method -> Text,
        path -> Text,
        fingerprint -> Bytea,
        state -> Text,
        status -> Nullable<Int2>,
        content_type -> Nullable<Text>,
        body -> Nullable<Bytea>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    login_failures (id) {
        id -> Uuid,
        user_id -> Uuid,
        client_ip -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    outbox (id) {
        id -> Uuid,
        recipient -> Text,
        template -> Text,
        locale -> Text,
        subject -> Text,
        body_text -> Text,
        body_html -> Text,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        sent_at -> Nullable<Timestamptz>,
        badge_accreditation_id -> Nullable<Uuid>,
        event_id -> Nullable<Uuid>,
        leased_until -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Citext;

    participants (id) {
        id -> Uuid,
        event_id -> Uuid,
        registered_by -> Nullable<Uuid>,
        exhibitor_id -> Nullable<Uuid>,
        first_name -> Text,
        last_name -> Text,
        email -> Nullable<Citext>,
        title -> Nullable<Text>,
        organization -> Text,
        function -> Nullable<Text>,
        nationality -> Text,
        date_of_birth -> Nullable<Date>,
        id_document_type -> Nullable<Text>,
        id_document_ciphertext -> Nullable<Bytea>,
        id_document_nonce -> Nullable<Bytea>,
        id_document_key_id -> Nullable<Text>,
        id_document_hash -> Nullable<Bytea>,
        search_text -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        delegation_id -> Nullable<Uuid>,
        user_id -> Nullable<Uuid>,
        media_outlet -> Nullable<Text>,
        press_card_number -> Nullable<Text>,
        anonymized_at -> Nullable<Timestamptz>,
        place_of_birth -> Nullable<Text>,
        id_document_expires_on -> Nullable<Date>,
    }
}

diesel::table! {
    participant_documents (participant_id, kind) {
        participant_id -> Uuid,
        kind -> Text,
        content_type -> Text,
        sha256 -> Bytea,
        size -> Int4,
        ciphertext -> Bytea,
        nonce -> Bytea,
        key_id -> Text,
        uploaded_by -> Uuid,
        uploaded_at -> Timestamptz,
    }
}

diesel::table! {
    participant_photos (participant_id) {
        participant_id -> Uuid,
        jpeg -> Bytea,
        width -> Int4,
        height -> Int4,
        updated_at -> Timestamptz,
        sha256 -> Nullable<Bytea>,
    }
}

diesel::table! {
    pavilions (id) {
        id -> Uuid,
        event_id -> Uuid,
        name -> Text,
        country -> Nullable<Text>,
        description -> Text,
        coordinator_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Uuid,
        user_id -> Uuid,
        family_id -> Uuid,
        token_hash -> Bytea,
        expires_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    reissue_requests (id) {
        id -> Uuid,
        event_id -> Uuid,
        accreditation_id -> Uuid,
        lost_badge_id -> Uuid,
        reported_by -> Nullable<Uuid>,
        reported_at -> Timestamptz,
        state -> Text,
        closed_at -> Nullable<Timestamptz>,
        closed_by -> Nullable<Uuid>,
        new_badge_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    scans (id) {
        id -> Uuid,
        event_id -> Uuid,
        badge_id -> Nullable<Uuid>,
        agent_id -> Nullable<Uuid>,
        gate -> Text,
        zone -> Text,
        direction -> Text,
        verdict -> Text,
        reason -> Nullable<Text>,
        scanned_at -> Timestamptz,
        qr_digest -> Nullable<Bytea>,
        device_id -> Nullable<Uuid>,
        received_at -> Timestamptz,
        entered_number -> Nullable<Text>,
        offline_verdict -> Nullable<Text>,
        flagged -> Bool,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Citext;

    users (id) {
        id -> Uuid,
        email -> Citext,
        password_hash -> Nullable<Text>,
        full_name -> Text,
        locale -> Text,
        roles -> Array<Text>,
        email_verified_at -> Nullable<Timestamptz>,
        disabled_at -> Nullable<Timestamptz>,
        locked_until -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    vetting_batch_items (batch_id, accreditation_id) {
        batch_id -> Uuid,
        accreditation_id -> Uuid,
        version -> Int4,
        identity -> Text,
    }
}

diesel::table! {
    vetting_batches (id) {
        id -> Uuid,
        event_id -> Uuid,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        people -> Int4,
    }
}

diesel::table! {
    vetting_results (id) {
        id -> Uuid,
        event_id -> Uuid,
        accreditation_id -> Uuid,
        row_digest -> Bytea,
        uploaded_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    vetting_decisions (id) {
        id -> Uuid,
        accreditation_id -> Uuid,
        event_id -> Uuid,
        officer_id -> Nullable<Uuid>,
        state -> Text,
        note -> Nullable<Text>,
        reference -> Nullable<Text>,
        message -> Nullable<Text>,
        overrules -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    visa_letters (id) {
        id -> Uuid,
        accreditation_id -> Uuid,
        code_hash -> Bytea,
        code_ciphertext -> Bytea,
        code_nonce -> Bytea,
        code_key_id -> Text,
        consulate -> Nullable<Text>,
        language -> Text,
        issued_at -> Timestamptz,
        issued_by -> Nullable<Uuid>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Uuid,
        endpoint_id -> Uuid,
        event_id -> Uuid,
        message_id -> Uuid,
        kind -> Text,
        body -> Text,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        leased_until -> Nullable<Timestamptz>,
        last_attempt_at -> Nullable<Timestamptz>,
        last_response_status -> Nullable<Int4>,
        last_error -> Nullable<Text>,
        delivered_at -> Nullable<Timestamptz>,
        redelivery_of -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> Uuid,
        event_id -> Uuid,
        url -> Text,
        kinds -> Array<Text>,
        description -> Nullable<Text>,
        secret_ciphertext -> Bytea,
        secret_nonce -> Bytea,
        secret_key_id -> Text,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    mfa_challenges (id) {
        id -> Uuid,
        token_hash -> Bytea,
        user_id -> Uuid,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    mfa_factors (user_id) {
        user_id -> Uuid,
        secret_ciphertext -> Bytea,
        secret_nonce -> Bytea,
        secret_key_id -> Text,
        confirmed_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    mfa_recovery_codes (id) {
        id -> Uuid,
        user_id -> Uuid,
        code_hash -> Text,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    mfa_used_codes (user_id, time_step) {
        user_id -> Uuid,
        time_step -> Int8,
        used_at -> Timestamptz,
    }
}

diesel::table! {
    mfa_verified_sessions (family_id) {
        family_id -> Uuid,
        user_id -> Uuid,
        verified_at -> Timestamptz,
    }
}

diesel::joinable!(accreditation_approvals -> accreditations (accreditation_id));
diesel::joinable!(accreditations -> events (event_id));
diesel::joinable!(badge_overrides -> accreditations (accreditation_id));
diesel::joinable!(badge_presence -> badges (badge_id));
diesel::joinable!(badges -> accreditations (accreditation_id));
diesel::joinable!(scans -> badges (badge_id));
diesel::joinable!(gate_sync_changes -> badges (badge_id));
diesel::joinable!(scans -> gate_devices (device_id));
diesel::joinable!(gate_devices -> events (event_id));
diesel::joinable!(accreditations -> participants (participant_id));
diesel::joinable!(audit_records -> users (actor_id));
diesel::joinable!(audit_records -> events (event_id));
diesel::joinable!(delegation_invitations -> delegations (delegation_id));
diesel::joinable!(delegations -> events (event_id));
diesel::joinable!(participant_documents -> participants (participant_id));
diesel::joinable!(participant_photos -> participants (participant_id));
diesel::joinable!(participants -> delegations (delegation_id));
diesel::joinable!(exhibitors -> events (event_id));
diesel::joinable!(exhibitors -> pavilions (pavilion_id));
diesel::joinable!(participants -> exhibitors (exhibitor_id));
diesel::joinable!(pavilions -> events (event_id));
diesel::joinable!(email_tokens -> users (user_id));
diesel::joinable!(login_failures -> users (user_id));
diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(reissue_requests -> accreditations (accreditation_id));
diesel::joinable!(vetting_batch_items -> accreditations (accreditation_id));
diesel::joinable!(vetting_batch_items -> vetting_batches (batch_id));
diesel::joinable!(vetting_decisions -> accreditations (accreditation_id));
diesel::joinable!(visa_letters -> accreditations (accreditation_id));
diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));
diesel::joinable!(webhook_endpoints -> events (event_id));

diesel::allow_tables_to_appear_in_same_query!(
    accreditation_approvals,
    accreditation_counts,
    accreditations,
    audit_records,
    badge_overrides,
    badge_presence,
    badge_sequences,
    badges,
    delegation_invitations,
    delegations,
    email_tokens,
    events,
    exhibitors,
    gate_devices,
    gate_sync_changes,
    idempotency_keys,
    login_failures,
    mfa_challenges,
    mfa_factors,
    mfa_recovery_codes,
    mfa_used_codes,
    mfa_verified_sessions,
    outbox,
    participant_documents,
    participant_photos,
    participants,
    pavilions,
    rate_limits,
    refresh_tokens,
    reissue_requests,
    scans,
    users,
    vetting_batch_items,
    vetting_batches,
    vetting_decisions,
    vetting_results,
    visa_letters,
    webhook_deliveries,
    webhook_endpoints,
);
