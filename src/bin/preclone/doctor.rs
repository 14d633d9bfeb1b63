//! `preclone doctor`: resolve the instances named (or every one in the config), probe every table
//! the audit reads on each, print the matrix and exit by its worst gap.

use crate::audit::runtime;
use crate::{env, print_stdout, usage, Failure};
use preclone::cli::{DoctorArgs, DoctorFormat};
use preclone::config::Config;
use preclone::doctor;
use preclone::exit::Exit;
use preclone::settings::RunSettings;

pub(crate) fn run(args: DoctorArgs) -> Result<Exit, Failure> {
    let config = Config::load(args.config.as_deref()).map_err(usage)?;
    let names: Vec<String> = if args.names.is_empty() {
        config.instances.keys().cloned().collect()
    } else {
        args.names.clone()
    };
    if names.is_empty() {
        return Err(usage(
            "no instance to check: name one, or add [instance.NAME] tables to the config (`preclone init` writes an example)",
        ));
    }
    let instances = config.resolve_all(&names, &env).map_err(usage)?;
    let settings = RunSettings::doctor(&args, &config);
    let matrix = runtime()?.block_on(doctor::run(&instances, &settings));
    print_stdout(&match args.format {
        DoctorFormat::Console => doctor::render(&matrix),
        DoctorFormat::Json => doctor::render_json(&matrix),
    })?;
    if let Some(why) = doctor::summary(&matrix) {
        eprintln!("preclone: {why}");
    }
    Ok(doctor::exit_code(&matrix))
}
