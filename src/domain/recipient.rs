//! Where a message went, as the clinic's staff may see it: enough to tell which contact was
//! used ("jo•••@paciente.demo", "+55 11 •••••-4321"), never the whole address, which is
//! personal data the outbox view does not need (the patient's record shows their contacts
//! to those allowed to read it).

/// The address with most of it hidden: an e-mail keeps its first two characters and its
/// domain; a phone keeps the country code (+55), the area code and its last four digits.
pub fn masked(address: &str) -> String {
    let a = address.trim();
    if a.is_empty() {
        return String::new();
    }
    if let Some(at) = a.find('@').filter(|at| *at > 0) {
        let keep: String = a[..at].chars().take(2).collect();
        return format!("{keep}•••{}", &a[at..]);
    }
    let digits: String = a.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 8 {
        return "•••".into();
    }
    let with_country = digits.starts_with("55") && digits.len() >= 12;
    let national = if with_country {
        &digits[2..]
    } else {
        &digits[..]
    };
    let area = if national.len() >= 10 {
        format!("{} ", &national[..2])
    } else {
        String::new()
    };
    let country = if with_country { "+55 " } else { "" };
    format!("{country}{area}•••••-{}", &digits[digits.len() - 4..])
}

#[cfg(test)]
mod tests {
    use super::masked;

    #[test]
    fn only_enough_of_an_address_to_tell_which_contact_was_used() {
        assert_eq!(masked("joao@paciente.demo"), "jo•••@paciente.demo");
        assert_eq!(masked("j@x.com"), "j•••@x.com");
        assert_eq!(masked("+5511987654321"), "+55 11 •••••-4321");
        assert_eq!(masked("5511987654321"), "+55 11 •••••-4321");
        assert_eq!(masked("(21) 3333-4444"), "21 •••••-4444");
        assert_eq!(masked("1234"), "•••");
        assert_eq!(masked(""), "");
    }
}
