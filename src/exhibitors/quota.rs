//! How many staff badges a booth brings: 2 for the first 9 m², one more for each further
//! started 9 m² — 2 + ⌈max(area − 9, 0) / 9⌉ — unless an organizer overrides it. Contractor
//! badges (stand builders) follow the same formula by default, with their own override.

pub fn default_staff_quota(area_m2: f64) -> i32 {
    let extra = ((area_m2 - 9.0).max(0.0) / 9.0).ceil();
    2 + extra as i32
}

/// A bigger stand takes more hands to build, as it takes more staff to run.
pub fn default_contractor_quota(area_m2: f64) -> i32 {
    default_staff_quota(area_m2)
}

#[cfg(test)]
mod tests {
    use super::default_staff_quota;

    #[test]
    fn the_briefs_examples() {
        assert_eq!(default_staff_quota(4.0), 2);
        assert_eq!(default_staff_quota(9.0), 2);
        assert_eq!(default_staff_quota(9.5), 3);
        assert_eq!(default_staff_quota(18.0), 3);
        assert_eq!(default_staff_quota(18.01), 4);
        assert_eq!(default_staff_quota(90.0), 11);
    }
}
