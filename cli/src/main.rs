//! `descant`: Descant without a DAW. Renders a MIDI file with the built plugin, checks an
//! installed plugin, measures Descant's speed and music, and reads the melodic lines of a folder
//! of MIDI files. Each command has `--help`.
//!
//! Exit codes: 0 done; 1 the command failed (it says why on stderr, without a backtrace); 2 the
//! arguments were not understood (with the usage).

mod answers;
mod bench;
mod duet;
mod heldout;
mod idiom;
mod instances;
mod learn;
mod lines;
mod loading;
mod models;
mod presets;
mod render;
mod taste;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Descant without a DAW: render a MIDI file with the built plugin, check an installed plugin,
/// measure its speed, learn your melodies.
#[derive(Debug, Parser)]
#[command(
    name = "descant",
    version,
    after_help = "Exit codes: 0 done, 1 the command failed (the reason is on stderr), 2 bad arguments."
)]
struct Cli {
    /// What to do.
    #[command(subcommand)]
    command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Plays a MIDI file to the built plugin (CLAP, offline render) and writes what Descant
    /// played with it.
    Render(render::RenderArgs),
    /// Loads the plugin in a small CLAP host, plays a phrase and checks that Descant answers and
    /// releases every note on stop.
    Selfcheck {
        /// The `.clap` to check (default: the installed one, ~/.clap/Descant.clap on Linux,
        /// %COMMONPROGRAMFILES%\CLAP\Descant\Descant.clap on Windows).
        #[arg(long, value_name = "PATH")]
        plugin: Option<PathBuf>,
    },
    /// Measures Descant's speed and prints the tables (`cargo xtask bench` runs it in release with
    /// the release plugin).
    Bench(bench::BenchArgs),
    /// Measures how Descant sounds beside twelve well-known melodies (consonance, parallels,
    /// motion, notes in key), each heard once and played again, against a random note of the key.
    Duet(duet::DuetArgs),
    /// Measures how Descant answers: the first bars of twelve well-known melodies as calls, in
    /// Answer mode (endings, notes per beat against the call, notes in key, timing).
    Answers(answers::AnswersArgs),
    /// Measures Descant on hundreds of held-out pieces (folk tunes in every meter, chorales,
    /// Renaissance pairs), melody alone and with chords, in each mode, against the corpus's own
    /// voices and a random note of the key or chord (a developer's command: it reads
    /// `tests/fixtures/heldout.txt`).
    Heldout(heldout::HeldoutArgs),
    /// Measures how typical of its style Descant's lines are: its answers to held-out folk tunes
    /// and its voice under held-out chorales and Renaissance pieces, beside the corpus's own
    /// lines there, another piece's and a random note of the key, with a discriminator (a
    /// developer's command: it reads `tests/fixtures/heldout.txt`).
    Idiom(idiom::IdiomArgs),
    /// Measures whether the session's taste learns what a musician likes: a simulated musician
    /// who keeps leaping answers and asks again for the others, beside one who presses nothing,
    /// then both after `Reset taste` (leap share of the answers, five at a time).
    Taste(taste::TasteArgs),
    /// Lists the melodic lines in a folder of your own MIDI files, says what it skips and why,
    /// and whether there is enough to learn your style from.
    Lines(lines::LinesArgs),
    /// Teaches Descant your own melodies: the lines of a folder of MIDI files, learned into a new
    /// model with the style "Yours" in ~/Descant/models/NAME/, which the editor's Model list offers.
    Learn(learn::LearnArgs),
    /// Lists the models Descant can play: the built-in ones (the default marked) and yours
    /// (~/Descant/models/), each with its styles and whether you may use what it plays in
    /// released music.
    Models,
    /// Lists the factory presets and yours (~/Descant/presets/), one per line; `descant render
    /// --preset NAME` renders with one.
    Presets,
    /// Prints a shell completion script for `descant` (e.g. `descant completions bash >
    /// ~/.local/share/bash-completion/completions/descant`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// The installed plugin (`cargo xtask install` or the Windows installer puts it there).
fn installed_plugin() -> PathBuf {
    descant_host::installed_plugin_path().unwrap_or_else(|| PathBuf::from("Descant.clap"))
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Render(args) => render::run(args),
        Command::Selfcheck { plugin } => {
            descant_host::selfcheck(&plugin.unwrap_or_else(installed_plugin))
        }
        Command::Bench(args) => bench::run(args),
        Command::Duet(args) => duet::run(args),
        Command::Answers(args) => answers::run(args),
        Command::Heldout(args) => heldout::run(args),
        Command::Idiom(args) => idiom::run(args),
        Command::Taste(args) => taste::run(args),
        Command::Lines(args) => lines::run(args),
        Command::Learn(args) => learn::run(args),
        Command::Models => models::run(),
        Command::Presets => presets::run(),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "descant",
                &mut std::io::stdout(),
            );
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    // Bad arguments: clap prints the usage and exits 2; `--help` and `--version` exit 0.
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("descant: {e:#}");
            ExitCode::from(1)
        }
    }
}
