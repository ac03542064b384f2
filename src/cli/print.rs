//! `tilldesk codes print`: store codes to one PDF (and PNGs), headless, with the same print core as the panel.

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use anyhow::{Context as _, bail};
use tilldesk::config::DataHome;
use tilldesk::print::{self, Logo, StandData, Template};

#[derive(Debug, Clone, clap::Args)]
pub struct PrintArgs {
    /// Which stores: `all`, or store numbers / local ids separated by commas (S001,S002 or 1,2).
    #[arg(long, default_value = "all", value_name = "all|ID,…")]
    pub stores: String,
    /// tent (A6 table tent), sticker (60 × 60 mm) or poster (A4); several separated by commas.
    #[arg(long, default_value = "tent", value_name = "tent|sticker|poster")]
    pub template: String,
    /// The PDF to write (one page per store per template).
    #[arg(long, value_name = "FILE.pdf")]
    pub out: Option<PathBuf>,
    /// Also write one PNG per store per template into this folder.
    #[arg(long, value_name = "DIR")]
    pub png: Option<PathBuf>,
    /// PNG resolution (300 or more).
    #[arg(long, default_value_t = print::MIN_EXPORT_DPI)]
    pub dpi: u32,
    /// A PNG or JPEG logo for the centre of the code (error correction goes up to H, or Q where H would make the
    /// modules too small for a phone; refused for a template where neither fits).
    #[arg(long, value_name = "FILE")]
    pub logo: Option<PathBuf>,
    /// Send the PDF to the printer too (lp on Linux and macOS, the print verb on Windows).
    #[arg(long)]
    pub print: bool,
    /// The printer to use with --print (default: the system's default printer).
    #[arg(long, value_name = "NAME", requires = "print")]
    pub printer: Option<String>,
    /// Also print stores not onboarded with any acquirer, as samples marked "演示码 不能付款 Demo code, not payable"
    /// (by default they are skipped and named: they have no code anybody could pay).
    #[arg(long)]
    pub sample: bool,
}

/// Picks the stores named in `--stores` (store number or local id), in the order given.
fn select(home: &mut DataHome, which: &str) -> anyhow::Result<Vec<StandData>> {
    let mut rows = home.store.setup().printable_stores()?;
    if rows.is_empty() {
        // A fresh install: the demo store, as checkout uses it.
        home.store.setup_mut().default_store()?;
        rows = home.store.setup().printable_stores()?;
    }
    let which = which.trim();
    let chosen: Vec<_> = if which.eq_ignore_ascii_case("all") {
        rows.iter().collect()
    } else {
        let mut chosen = Vec::new();
        for id in which.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let row = rows
                .iter()
                .find(|r| r.store.store_code.eq_ignore_ascii_case(id))
                .or_else(|| id.parse::<i64>().ok().and_then(|n| rows.iter().find(|r| r.store.id.0 == n)));
            let Some(row) = row else {
                let known: Vec<&str> = rows.iter().map(|r| r.store.store_code.as_str()).collect();
                bail!("--stores: there is no store {id:?}; the stores are: {}", known.join(", "));
            };
            if !chosen.iter().any(|c: &&tilldesk::store::print::PrintableStore| c.store.id == row.store.id) {
                chosen.push(row);
            }
        }
        chosen
    };
    if chosen.is_empty() {
        bail!("--stores: no store given (use all, or store numbers like S001,S002)");
    }
    chosen.into_iter().map(|row| Ok(print::source::stand_for_store(&home.store, row)?)).collect()
}

pub fn run(mut home: DataHome, args: PrintArgs) -> anyhow::Result<()> {
    if args.out.is_none() && args.png.is_none() {
        bail!("say where to write: --out FILE.pdf and/or --png DIR");
    }
    if args.print && args.out.is_none() {
        bail!("--print needs --out FILE.pdf (the PDF that is sent to the printer)");
    }
    // Every argument is checked before anything is written: a bad --dpi must not leave a PDF behind.
    if args.png.is_some() {
        print::check_export_dpi(args.dpi).context("--dpi")?;
    }
    let templates = Template::parse_list(&args.template).context("--template")?;
    let mut stands = select(&mut home, &args.stores)?;
    if !args.sample {
        let (samples, payable): (Vec<StandData>, Vec<StandData>) =
            stands.into_iter().partition(print::source::is_sample);
        if !samples.is_empty() {
            let names: Vec<&str> = samples.iter().map(|s| s.store_code.as_str()).collect();
            let why = format!(
                "{} not onboarded with any acquirer, so {} no code anybody could pay: onboard {} first \
                 (`tilldesk onboard cds|direct --store …`), or add --sample to print marked samples",
                names.join(", "),
                if names.len() == 1 { "it has" } else { "they have" },
                if names.len() == 1 { "it" } else { "them" },
            );
            if payable.is_empty() {
                bail!("nothing to print: {why}");
            }
            eprintln!("skipped {why}");
        }
        stands = payable;
    }
    let logo = args.logo.as_deref().map(Logo::load).transpose()?;
    // Every code must stay readable by a phone at its printed size: refused before anything is written.
    let refused = print::readability::refusals(&stands, &templates, logo.is_some());
    if !refused.is_empty() {
        let lines: Vec<String> = refused.iter().map(|e| format!("  {e}")).collect();
        bail!("nothing was written; {} cannot be printed readably:\n{}", plural(refused.len()), lines.join("\n"));
    }
    let cancel = AtomicBool::new(false);
    let interactive = std::io::stderr().is_terminal();
    let report = |what: &str, done: usize, total: usize| {
        if interactive {
            eprint!("\r{what} {done}/{total}");
            if done == total {
                eprintln!();
            }
            let _ = std::io::stderr().flush();
        }
    };
    if let Some(out) = &args.out {
        let bytes =
            print::save_pdf(out, &stands, &templates, logo.as_ref(), &mut |d, t| report("PDF pages", d, t), &cancel)?;
        println!(
            "wrote {} ({} pages, {} {}, {} KB)",
            out.display(),
            stands.len() * templates.len(),
            stands.len(),
            if stands.len() == 1 { "store" } else { "stores" },
            bytes.div_ceil(1024)
        );
    }
    if let Some(dir) = &args.png {
        let files = print::export_pngs(
            &stands,
            &templates,
            logo.as_ref(),
            dir,
            args.dpi,
            &mut |d, t| report("PNG files", d, t),
            &cancel,
        )?;
        println!("wrote {} PNG files at {} dpi to {}", files.len(), args.dpi, dir.display());
    }
    if args.print
        && let Some(out) = &args.out
    {
        let submitted = print::printer::print_pdf(out, args.printer.as_deref())?;
        println!("sent to the printer: {}", submitted.message);
    }
    Ok(())
}

/// "1 code" or "3 codes".
fn plural(n: usize) -> String {
    if n == 1 { "1 code".into() } else { format!("{n} codes") }
}
