//! The enterprises of a data set: producers, distributors, retailers and online shops, with
//! valid USCCs registered in Tianjin districts or, for some, in other provinces.

use crate::catalog::{NAME_WORDS, OTHER_DIVISIONS};
use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use spotcheck_schemas::region::TIANJIN_DISTRICTS;
use spotcheck_schemas::unit::Unit;
use spotcheck_schemas::uscc::with_check_character;
use spotcheck_schemas::{UnitRole, Uscc};

const ORG_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// A generated enterprise.
#[derive(Debug, Clone)]
pub struct GenUnit {
    pub uscc: Uscc,
    pub name: String,
    pub district: String,
    pub role: UnitRole,
}

impl GenUnit {
    pub fn record(&self) -> Unit {
        let city = city_of(&self.district);
        Unit {
            uscc: self.uscc.clone(),
            name: self.name.clone(),
            address: Some(format!(
                "{city}{}路{}号",
                NAME_WORDS[self.name.len() % NAME_WORDS.len()],
                self.name.len() * 7 % 300 + 1
            )),
            district: Some(self.district.clone()),
            roles: vec![self.role],
            licences: Vec::new(),
            area: None,
        }
    }
}

/// The pools of units by role.
pub struct Units {
    pub producers: Vec<GenUnit>,
    pub distributors: Vec<GenUnit>,
    pub retailers: Vec<GenUnit>,
    pub online: Vec<GenUnit>,
}

impl Units {
    /// Pool sizes scale with the expected number of batches.
    pub fn generate(rng: &mut StdRng, batches: usize) -> Self {
        let producers = (batches / 8).clamp(12, 20_000);
        Self {
            producers: pool(rng, producers, UnitRole::Producer, 0.4),
            distributors: pool(rng, producers * 2, UnitRole::Distributor, 0.8),
            retailers: pool(rng, producers * 8, UnitRole::Retailer, 0.95),
            online: pool(rng, (producers / 2).max(4), UnitRole::Ecommerce, 0.7),
        }
    }

    pub fn all(&self) -> impl Iterator<Item = &GenUnit> {
        self.producers
            .iter()
            .chain(&self.distributors)
            .chain(&self.retailers)
            .chain(&self.online)
    }
}

fn pool(rng: &mut StdRng, count: usize, role: UnitRole, in_tianjin: f64) -> Vec<GenUnit> {
    (0..count).map(|i| unit(rng, role, in_tianjin, i)).collect()
}

fn unit(rng: &mut StdRng, role: UnitRole, in_tianjin: f64, serial: usize) -> GenUnit {
    let district = if rng.random_bool(in_tianjin) {
        TIANJIN_DISTRICTS.choose(rng).map(|(code, _)| *code)
    } else {
        OTHER_DIVISIONS.choose(rng).map(|(code, _)| *code)
    }
    .unwrap_or("120104")
    .to_owned();
    let org: String = (0..9)
        .map(|_| ORG_ALPHABET[rng.random_range(0..ORG_ALPHABET.len())] as char)
        .collect();
    let first17 = format!("91{district}{org}");
    let code = with_check_character(&first17).and_then(|c| Uscc::parse(&c).ok());
    let uscc = code.unwrap_or_else(|| Uscc::parse("91350100M000100Y43").expect("valid example"));
    let word = NAME_WORDS[rng.random_range(0..NAME_WORDS.len())];
    let suffix = match role {
        UnitRole::Producer => "制造有限公司",
        UnitRole::Distributor => "商贸有限公司",
        UnitRole::Retailer => "五金建材商店",
        UnitRole::Ecommerce => "网络科技有限公司",
    };
    GenUnit {
        name: format!("{}{word}{serial}{suffix}", city_of(&district)),
        uscc,
        district,
        role,
    }
}

/// The city name of a division code.
pub fn city_of(district: &str) -> &'static str {
    if district.starts_with("12") {
        return spotcheck_schemas::region::district_name(district).map_or("天津市", |_| "天津市");
    }
    OTHER_DIVISIONS
        .iter()
        .find(|(code, _)| *code == district)
        .map_or("", |(_, city)| city)
}
