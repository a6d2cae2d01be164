//! The console: search as you type, a recording's credits with their provenance, editing into
//! the outbox, history, a party's credits, the outbox and its conflicts, sync status.
//!
//! Shaped as television and gitui are: key events become actions ([`keymap`]), [`app`]
//! changes state, [`draw`] renders state, and everything that reads SQLite or the index runs
//! on the [`worker`] thread, so the loop never waits for I/O. Frames are drawn only when
//! something changed. The terminal is restored on exit and on panic; logs go to a file.

pub mod app;
pub mod draw;
pub mod edit;
pub mod keymap;
pub mod list;
pub mod outcome;
pub mod screens;
pub mod toml_edit;
pub mod worker;

use std::io::Write as _;
use std::path::Path;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use ratatui::crossterm::event::{
    self, DisableMouseCapture, EnableMouseCapture, Event, KeyEvent, MouseEvent,
};
use ratatui::crossterm::execute;

pub use app::{App, Session};
pub use worker::{Paths, Reply, Request};

/// Everything the loop reacts to.
#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize,
    /// Once a second: the status line and anything that follows an edit.
    Tick,
    Reply(Box<Reply>),
}

/// How often the status is re-read.
pub const TICK: Duration = Duration::from_secs(1);

/// Runs the console on the mirror in `paths` until the user quits.
pub fn run(paths: Paths, session: Session, color: bool) -> anyhow::Result<()> {
    let (tx, rx) = std::sync::mpsc::channel();
    let requests = worker::spawn(paths, tx.clone()).context("starting the console's worker")?;
    spawn_ticker(tx.clone())?;
    let input = InputGate::default();
    spawn_input(tx, input.clone())?;
    let mut terminal = ratatui::init();
    // ratatui's hook restores the screen on a panic; mouse reporting has to go too, or the
    // shell is left printing escape codes on every move.
    let restore = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = execute!(std::io::stdout(), DisableMouseCapture);
        restore(info);
    }));
    if let Err(e) = execute!(std::io::stdout(), EnableMouseCapture) {
        tracing::warn!(error = %e, "the terminal refused mouse capture");
    }
    let mut app = App::new(session, requests, color);
    let result = event_loop(&mut terminal, &mut app, &rx, &input);
    let _ = execute!(std::io::stdout(), DisableMouseCapture);
    ratatui::restore();
    result
}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    rx: &Receiver<Msg>,
    input: &InputGate,
) -> anyhow::Result<()> {
    terminal.draw(|f| draw::draw(f, app))?;
    while let Ok(msg) = rx.recv() {
        app.handle(msg);
        // Whatever else is already waiting is handled before the next frame.
        for msg in rx.try_iter() {
            app.handle(msg);
        }
        if app.quit {
            return Ok(());
        }
        if let Some(edit) = app.external.take() {
            let outcome = edit_externally(terminal, &edit, input);
            app.external_done(&edit, outcome);
            // A fresh terminal (see edit_externally) draws every cell on its first frame.
        }
        if app.take_dirty() {
            terminal.draw(|f| draw::draw(f, app))?;
        }
    }
    Ok(())
}

fn spawn_ticker(tx: Sender<Msg>) -> anyhow::Result<()> {
    std::thread::Builder::new()
        .name("liner-console-tick".into())
        .spawn(move || {
            while tx.send(Msg::Tick).is_ok() {
                std::thread::sleep(TICK);
            }
        })
        .context("starting the status ticker")?;
    Ok(())
}

/// Whether the input reader may read the terminal. While `$EDITOR` has the terminal, the
/// reader must neither take the editor's keystrokes nor hold crossterm's event reader: a cursor
/// position query (which a terminal's setup makes) waits for that reader, and timed out with
/// "the cursor position could not be read" when the console came back.
#[derive(Debug, Clone, Default)]
struct InputGate(Arc<(Mutex<Gate>, Condvar)>);

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Gate {
    #[default]
    Open,
    /// The reader is asked to stop at its next poll.
    Closing,
    /// The reader has stopped and waits to be let go on.
    Closed,
    /// The reader stopped for good (the terminal failed, or the console is gone).
    Gone,
}

impl InputGate {
    /// Stops the reader and waits until it is out of crossterm's reader (a poll takes at most
    /// [`INPUT_POLL`]).
    fn close(&self) {
        let (lock, cv) = &*self.0;
        let Ok(mut g) = lock.lock() else { return };
        if *g == Gate::Open {
            *g = Gate::Closing;
        }
        while *g == Gate::Closing {
            match cv.wait_timeout(g, Duration::from_secs(2)) {
                Ok((_, timeout)) if timeout.timed_out() => {
                    tracing::warn!("the input reader did not stop within 2 s");
                    return;
                }
                Ok((next, _)) => g = next,
                Err(_) => return,
            }
        }
    }

    fn open(&self) {
        let (lock, cv) = &*self.0;
        if let Ok(mut g) = lock.lock()
            && *g != Gate::Gone
        {
            *g = Gate::Open;
            cv.notify_all();
        }
    }

    /// For the reader: waits while the gate is closed; false once it should stop for good.
    fn pass(&self) -> bool {
        let (lock, cv) = &*self.0;
        let Ok(mut g) = lock.lock() else { return false };
        if *g == Gate::Closing {
            *g = Gate::Closed;
            cv.notify_all();
        }
        while *g == Gate::Closed {
            match cv.wait(g) {
                Ok(next) => g = next,
                Err(_) => return false,
            }
        }
        *g == Gate::Open
    }

    fn gone(&self) {
        let (lock, cv) = &*self.0;
        if let Ok(mut g) = lock.lock() {
            *g = Gate::Gone;
            cv.notify_all();
        }
    }
}

/// How long the reader waits for input before it looks at its gate again.
const INPUT_POLL: Duration = Duration::from_millis(50);

fn spawn_input(tx: Sender<Msg>, gate: InputGate) -> anyhow::Result<()> {
    std::thread::Builder::new()
        .name("liner-console-input".into())
        .spawn(move || {
            while gate.pass() {
                let msg = match event::poll(INPUT_POLL).and_then(|ready| {
                    if ready {
                        event::read().map(Some)
                    } else {
                        Ok(None)
                    }
                }) {
                    Ok(Some(Event::Key(k))) => Msg::Key(k),
                    Ok(Some(Event::Mouse(m))) => Msg::Mouse(m),
                    Ok(Some(Event::Resize(..))) => Msg::Resize,
                    Ok(_) => continue,
                    Err(e) => {
                        tracing::error!(error = %e, "reading the terminal");
                        break;
                    }
                };
                if tx.send(msg).is_err() {
                    break;
                }
            }
            gate.gone();
        })
        .context("starting the input reader")?;
    Ok(())
}

/// Hands the terminal to `$EDITOR` (then `$VISUAL`, then `vi`) until the text is valid or the
/// user cancels.
fn edit_externally(
    terminal: &mut ratatui::DefaultTerminal,
    edit: &app::ExternalEdit,
    input: &InputGate,
) -> Result<toml_edit::Outcome, String> {
    input.close();
    let _ = execute!(std::io::stdout(), DisableMouseCapture);
    ratatui::restore();
    let outcome = run_editor_until_valid(edit);
    *terminal = ratatui::init();
    let _ = execute!(std::io::stdout(), EnableMouseCapture);
    input.open();
    outcome
}

fn run_editor_until_valid(edit: &app::ExternalEdit) -> Result<toml_edit::Outcome, String> {
    let editor = std::env::var("EDITOR")
        .or_else(|_| std::env::var("VISUAL"))
        .unwrap_or_else(|_| "vi".into());
    let file = tempfile::Builder::new()
        .prefix("liner-credits-")
        .suffix(".toml")
        .tempfile()
        .map_err(|e| format!("cannot make a file to edit: {e}"))?;
    let mut text = edit.text.clone();
    loop {
        write_file(file.path(), &text)?;
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{editor} \"$1\""))
            .arg("sh")
            .arg(file.path())
            .status()
            .map_err(|e| format!("cannot start the editor {editor:?}: {e}"))?;
        if !status.success() {
            return Ok(toml_edit::Outcome::Cancelled);
        }
        let edited = std::fs::read_to_string(file.path())
            .map_err(|e| format!("cannot read back {}: {e}", file.path().display()))?;
        match toml_edit::read_back(&edit.recording, &edit.text, &edited) {
            toml_edit::Outcome::Invalid(again) => text = again,
            other => return Ok(other),
        }
    }
}

fn write_file(path: &Path, text: &str) -> Result<(), String> {
    std::fs::File::create(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}
