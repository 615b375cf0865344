//! The unified social credit code (统一社会信用代码) of GB 32100-2015.
//!
//! 18 characters from `0-9A-HJ-NP-RTUW-Y`; the last one is a check character computed from the
//! first 17 with weights `3^(i-1) mod 31`.

use std::fmt;

/// The 31 characters a USCC may use, in the order of their values 0..=30.
const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Why a string is not a valid USCC; the message is written for a lab clerk.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsccError {
    #[error("must be 18 characters long, found {0}")]
    Length(usize),
    #[error(
        "is a 15-digit business registration number (注册号), not a credit code: give the unit's \
         18-character 统一社会信用代码, or leave it empty and the unit is identified by its name \
         and address"
    )]
    RegistrationNumber,
    #[error(
        "character {position} ('{found}') is not allowed: a USCC uses only 0-9 and A-Z without I, O, S, V, Z{}",
        typed_for_digits(.suggestion.as_deref())
    )]
    Character {
        position: usize,
        found: char,
        /// The code with each letter O, I, Z, S typed for the digit it looks like (0, 1, 2, 5)
        /// put back, when that code's check character is right: for the clerk to confirm.
        suggestion: Option<String>,
    },
    #[error(
        "check character is wrong: expected '{expected}' as the 18th character, found '{found}'"
    )]
    CheckCharacter { expected: char, found: char },
    #[error(
        "is a resident identity card number (公民身份号码, a person's), not a credit code: give the \
         unit's 18-character 统一社会信用代码 from its licence, or leave it empty and the unit is \
         identified by its name and address (the identity number is not kept)"
    )]
    IdentityCardNumber,
}

/// A syntactically valid USCC with a correct check character (stored upper-case).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uscc(String);

impl Uscc {
    /// Validates `text`: whitespace ignored, lower case and full-width characters (９１１２…,
    /// typed in a Chinese input method's full-width mode) accepted.
    pub fn parse(text: &str) -> Result<Self, UsccError> {
        let code: String = text
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| match c {
                '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
                _ => c,
            })
            .collect::<String>()
            .to_ascii_uppercase();
        let chars: Vec<char> = code.chars().collect();
        if chars.len() == 15 && chars.iter().all(char::is_ascii_digit) {
            return Err(UsccError::RegistrationNumber);
        }
        if chars.len() != 18 {
            return Err(UsccError::Length(chars.len()));
        }
        let mut values = [0u32; 18];
        for (index, &found) in chars.iter().enumerate() {
            values[index] = char_value(found).ok_or_else(|| UsccError::Character {
                position: index + 1,
                found,
                suggestion: digits_for_letters(&code),
            })?;
        }
        let expected = check_character(&values[..17]);
        if chars[17] != expected {
            // Individual businesses' records give the keeper's identity card number where the
            // code belongs; a valid one is named as such (never a valid code: its check failed).
            if is_identity_card_number(&chars) {
                return Err(UsccError::IdentityCardNumber);
            }
            return Err(UsccError::CheckCharacter {
                expected,
                found: chars[17],
            });
        }
        Ok(Self(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Characters 3–8: the administrative division code of the registering authority.
    pub fn division_code(&self) -> &str {
        &self.0[2..8]
    }
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for Uscc {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Uscc {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Uscc::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for Uscc {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Uscc".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9A-HJ-NP-RTUW-Y]{2}[0-9]{6}[0-9A-HJ-NP-RTUW-Y]{10}$",
            "description": "统一社会信用代码 (GB 32100-2015), with a valid check character"
        })
    }
}

/// Whether `chars` is a valid resident identity card number (GB 11643-1999): a division code,
/// a birth date, a sequence number and an ISO 7064 MOD 11-2 check character (0-9 or X).
fn is_identity_card_number(chars: &[char]) -> bool {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    let Some(digits) = chars[..17]
        .iter()
        .map(|c| c.to_digit(10))
        .collect::<Option<Vec<u32>>>()
    else {
        return false;
    };
    let born: String = chars[6..14].iter().collect();
    let sum: u32 = digits.iter().zip(WEIGHTS).map(|(d, w)| d * w).sum();
    (1..=8).contains(&digits[0])
        && chrono::NaiveDate::parse_from_str(&born, "%Y%m%d")
            .is_ok_and(|date| (1900..2100).contains(&chrono::Datelike::year(&date)))
        && chars[17] == CHECK[(sum % 11) as usize]
}

fn char_value(c: char) -> Option<u32> {
    let byte = u8::try_from(c).ok()?;
    ALPHABET.iter().position(|&a| a == byte).map(|v| v as u32)
}

/// The check character for the first 17 character values.
fn check_character(values: &[u32]) -> char {
    let mut weight = 1u32;
    let mut sum = 0u32;
    for value in values {
        sum += value * weight;
        weight = weight * 3 % 31;
    }
    let check = (31 - sum % 31) % 31;
    ALPHABET[check as usize] as char
}

/// `code` with each O, I, Z and S read as the digit it looks like (0, 1, 2, 5), when that makes a
/// valid code: a clerk's typo, never taken without asking.
fn digits_for_letters(code: &str) -> Option<String> {
    let digits: String = code
        .chars()
        .map(|c| match c {
            'O' => '0',
            'I' => '1',
            'Z' => '2',
            'S' => '5',
            other => other,
        })
        .collect();
    (digits != code && Uscc::parse(&digits).is_ok()).then_some(digits)
}

fn typed_for_digits(suggestion: Option<&str>) -> String {
    suggestion.map_or_else(String::new, |code| {
        format!(" (with digits for the letters that look like them it is {code}, a valid code: check it against the unit's licence)")
    })
}

/// Completes 17 valid characters into a full USCC (used by the data generator and tests).
pub fn with_check_character(first17: &str) -> Option<String> {
    let values: Option<Vec<u32>> = first17.chars().map(char_value).collect();
    let values = values?;
    (values.len() == 17).then(|| format!("{first17}{}", check_character(&values)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_examples_are_valid() {
        assert!(Uscc::parse("91350100M000100Y43").is_ok());
        assert!(Uscc::parse("91110000802100433B").is_ok());
        assert!(Uscc::parse(" 91110000802100433b ").is_ok());
    }

    #[test]
    fn a_code_typed_in_full_width_or_spaced_is_the_code() {
        assert_eq!(
            Uscc::parse("９１３５０１００Ｍ０００１００Ｙ４３").map(|c| c.to_string()),
            Ok("91350100M000100Y43".to_owned())
        );
        assert_eq!(
            Uscc::parse("9135 0100 M000 100y 43").map(|c| c.to_string()),
            Ok("91350100M000100Y43".to_owned())
        );
    }

    #[test]
    fn an_old_registration_number_is_named_as_such() {
        let why = Uscc::parse("120104000012345").unwrap_err();
        assert_eq!(why, UsccError::RegistrationNumber);
        assert!(why.to_string().contains("注册号"), "{why}");
        assert_eq!(Uscc::parse("1201040000123"), Err(UsccError::Length(13)));
    }

    #[test]
    fn an_identity_card_number_is_named_as_such_and_not_repeated() {
        // GB 11643-1999's example number, and one ending in X.
        for id in ["11010519491231002X", "120103198001010015"] {
            let why = Uscc::parse(id).unwrap_err();
            assert_eq!(why, UsccError::IdentityCardNumber, "{id}");
            assert!(why.to_string().contains("公民身份号码"), "{why}");
            assert!(!why.to_string().contains(id), "{why}");
        }
        // One digit off: no identity number, a wrong check character.
        assert!(matches!(
            Uscc::parse("120103198001010016"),
            Err(UsccError::CheckCharacter { .. })
        ));
    }

    #[test]
    fn a_wrong_check_character_is_named_as_such() {
        assert_eq!(
            Uscc::parse("91350100M000100Y44"),
            Err(UsccError::CheckCharacter {
                expected: '3',
                found: '4'
            })
        );
    }

    #[test]
    fn forbidden_letters_and_lengths_are_rejected() {
        assert!(matches!(
            Uscc::parse("91350100M000100O43"),
            Err(UsccError::Character { position: 16, .. })
        ));
        // The letter O typed for the digit 0: the message gives the code to check.
        let typo = Uscc::parse("91350100MOOO100Y43").unwrap_err();
        assert!(typo.to_string().contains("91350100M000100Y43"), "{typo}");
        assert!(
            !Uscc::parse("91350100M000100O43")
                .unwrap_err()
                .to_string()
                .contains("valid code")
        );
        assert_eq!(Uscc::parse("9135"), Err(UsccError::Length(4)));
    }

    #[test]
    fn completing_seventeen_characters_gives_a_valid_code() {
        let code = with_check_character("91350100M000100Y4").unwrap();
        assert_eq!(code, "91350100M000100Y43");
        assert_eq!(Uscc::parse(&code).unwrap().division_code(), "350100");
    }
}
