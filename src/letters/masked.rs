//! How a document number appears to those who may not read it: its last four characters only.

/// All but the last four characters hidden.
pub fn masked(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    let shown = chars.len().saturating_sub(4);
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| if i < shown { '•' } else { *c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::masked;

    #[test]
    fn masked_numbers_keep_only_their_last_four_characters() {
        assert_eq!(masked("U12345678"), "•••••5678");
        assert_eq!(masked("Ab1"), "Ab1");
    }
}
