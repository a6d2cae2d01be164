//! What the console's tests share: a console driven by key events against a real mirror,
//! rendered into a `TestBackend`, waiting on its worker's replies rather than on time.

#![allow(dead_code)]

use std::path::Path;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use liner_console::console::{App, Msg, Paths, Session, draw, worker};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub struct Console {
    pub app: App,
    rx: Receiver<Msg>,
    terminal: Terminal<TestBackend>,
}

impl Console {
    pub fn open(dir: &Path, session: Session, width: u16, height: u16) -> Console {
        let (tx, rx) = std::sync::mpsc::channel();
        let requests = worker::spawn(Paths::new(dir), tx).expect("worker");
        let app = App::new(session, requests, false);
        let terminal = Terminal::new(TestBackend::new(width, height)).expect("terminal");
        let mut c = Console { app, rx, terminal };
        c.settle();
        c
    }

    pub fn editor(dir: &Path, width: u16, height: u16) -> Console {
        let who = liner::protocol::Me {
            name: "ed".into(),
            role: liner::protocol::Role::Editor,
            parties: vec![],
            may_edit: true,
        };
        Console::open(
            dir,
            Session {
                actor: "ed".into(),
                who: Some(who),
            },
            width,
            height,
        )
    }

    /// Handles worker replies until none is outstanding.
    pub fn settle(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.app.in_flight() > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "the console's worker did not answer within 20 s"
            );
            match self.rx.recv_timeout(left) {
                Ok(msg) => self.app.handle(msg),
                Err(e) => panic!("the console's worker stopped: {e}"),
            }
        }
    }

    pub fn key(&mut self, code: KeyCode) {
        self.key_with(code, KeyModifiers::NONE);
    }

    pub fn key_with(&mut self, code: KeyCode, mods: KeyModifiers) {
        self.app.handle(Msg::Key(KeyEvent::new(code, mods)));
        self.settle();
    }

    /// Types text, one key event per character, as a person would.
    pub fn typed(&mut self, text: &str) {
        for c in text.chars() {
            self.app.handle(Msg::Key(KeyEvent::new(
                KeyCode::Char(c),
                KeyModifiers::NONE,
            )));
        }
        self.settle();
    }

    pub fn tick(&mut self) {
        self.app.handle(Msg::Tick);
        self.settle();
    }

    /// The screen as text, one line per row, trailing spaces removed.
    pub fn screen(&mut self) -> String {
        self.terminal
            .draw(|f| draw::draw(f, &mut self.app))
            .expect("draw");
        let buffer = self.terminal.backend().buffer();
        let width = buffer.area.width as usize;
        let mut out = String::new();
        for row in buffer.content.chunks(width) {
            let mut line = String::new();
            let mut skip = 0;
            for cell in row {
                // A wide character's second cell is empty: skip it rather than pad.
                if skip > 0 {
                    skip -= 1;
                    continue;
                }
                let sym = cell.symbol();
                skip = unicode_width::UnicodeWidthStr::width(sym).saturating_sub(1);
                line.push_str(sym);
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    /// Ticks (status refresh, following a shown edit) until the screen shows `what`.
    pub fn wait_for(&mut self, what: &str, limit: Duration) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(what) {
                return screen;
            }
            assert!(
                start.elapsed() < limit,
                "timed out after {limit:?} waiting for {what:?} on:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
            self.tick();
        }
    }
}

/// Waits for `what` to hold, checking every 20 ms, failing after `limit`.
pub fn eventually<F: FnMut() -> bool>(what: &str, limit: Duration, mut check: F) {
    let start = Instant::now();
    while !check() {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
