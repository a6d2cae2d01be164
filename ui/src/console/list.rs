//! A cursor over a list that may be far longer than the screen: the selected row and the first
//! row shown. Only the rows in the window are ever drawn.

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListCursor {
    pub selected: usize,
    pub offset: usize,
}

impl ListCursor {
    pub fn down(&mut self, len: usize, by: usize) {
        if len > 0 {
            self.selected = (self.selected + by).min(len - 1);
        }
    }

    pub fn up(&mut self, by: usize) {
        self.selected = self.selected.saturating_sub(by);
    }

    pub fn top(&mut self) {
        self.selected = 0;
    }

    pub fn bottom(&mut self, len: usize) {
        self.selected = len.saturating_sub(1);
    }

    pub fn clamp(&mut self, len: usize) {
        if self.selected >= len {
            self.selected = len.saturating_sub(1);
        }
    }

    /// The rows to draw in a window `height` rows tall, keeping the selection in view.
    pub fn window(&mut self, len: usize, height: usize) -> std::ops::Range<usize> {
        let height = height.max(1);
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + height {
            self.offset = self.selected + 1 - height;
        }
        if self.offset + height > len {
            self.offset = len.saturating_sub(height);
        }
        self.offset..(self.offset + height).min(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_follows_the_selection_and_never_runs_past_the_end() {
        let mut c = ListCursor::default();
        assert_eq!(c.window(100, 10), 0..10);
        c.down(100, 15);
        assert_eq!(c.window(100, 10), 6..16);
        c.bottom(100);
        assert_eq!(c.window(100, 10), 90..100);
        c.up(95);
        assert_eq!(c.window(100, 10), 4..14);
        assert_eq!(c.window(3, 10), 0..3);
        c.clamp(0);
        assert_eq!(c.selected, 0);
    }
}
