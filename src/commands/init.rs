//! `smelt init DIR`: scaffold a project like `meltano init`.

use super::print_out;
use crate::cli::InitArgs;
use crate::project_context::CliError;

/// Creates the project and tells the user what to do next.
pub fn run(args: &InitArgs) -> Result<i32, CliError> {
    let file = smelt_project::init_project(&args.directory, None).map_err(CliError::fail)?;
    print_out(&format!("Created {}", file.display()))?;
    print_out(&format!(
        "Next: cd {} && add plugins under `plugins:` (e.g. tap-csv and target-jsonl with `variant: smelt`), then `smelt run tap-csv target-jsonl`.",
        args.directory.display()
    ))?;
    Ok(0)
}
