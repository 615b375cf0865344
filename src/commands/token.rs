//! `spotcheck token new --role ROLE --subject NAME`.

use crate::cli::TokenArgs;
use anyhow::Result;
use spotcheck_api::access::{Role, config_entry, new_token};
use std::process::ExitCode;

pub fn run(args: TokenArgs) -> Result<ExitCode> {
    let role: Role = args.role.parse().map_err(anyhow::Error::msg)?;
    let subject = args.subject.trim();
    anyhow::ensure!(!subject.is_empty(), "--subject must not be empty");
    let (token, hash) = new_token();
    println!("token: {token}");
    println!();
    println!("# Add to the config file to grant it (only the hash is stored):");
    print!("{}", config_entry(&hash, role, subject));
    Ok(ExitCode::SUCCESS)
}
