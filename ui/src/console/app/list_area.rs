//! Where the last frame drew the list the movement keys move in, in one section or two (the
//! search screen's recordings and parties), so a mouse click finds the row under it.

use ratatui::layout::Rect;

/// Geometry of the last frame, for mouse clicks.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListArea {
    pub area: Rect,
    /// Rows above the first list row inside `area` (table headers).
    pub header: u16,
    pub offset: usize,
    /// A second section of the same list drawn apart (the search screen's parties).
    pub also: Option<Section>,
}

/// Rows `base + offset..base + len` of a list, drawn in `area` below `header` rows.
#[derive(Debug, Clone, Copy, Default)]
pub struct Section {
    pub area: Rect,
    pub header: u16,
    pub offset: usize,
    pub base: usize,
    pub len: usize,
}

impl Section {
    /// The list row at screen row `y`, if this section shows one there (a click on the blank
    /// below a short section is on no row, not on the next section's).
    pub fn row_at(&self, x: u16, y: u16) -> Option<usize> {
        let first = self.area.y + self.header;
        let inside = x >= self.area.x
            && x < self.area.x + self.area.width
            && y >= first
            && y < self.area.y + self.area.height;
        let row = self.offset + usize::from(y.saturating_sub(first));
        (inside && row < self.len).then_some(self.base + row)
    }
}

impl ListArea {
    /// The rows of a list `len` long that fit in `inner` below `header` rows, keeping the
    /// selection in view; records where they are drawn, for mouse clicks.
    pub fn place(
        &mut self,
        cursor: &mut crate::console::list::ListCursor,
        len: usize,
        inner: Rect,
        header: u16,
    ) -> std::ops::Range<usize> {
        let range = cursor.window(len, inner.height.saturating_sub(header) as usize);
        *self = ListArea {
            area: inner,
            header,
            offset: range.start,
            also: None,
        };
        range
    }

    /// The list row under a click, in either section.
    pub fn row_at(&self, x: u16, y: u16) -> Option<usize> {
        let main = Section {
            area: self.area,
            header: self.header,
            offset: self.offset,
            base: 0,
            // The list's own length bounds a click on a list of one section (the caller
            // checks); with two, the first section's.
            len: self.also.map_or(usize::MAX, |s| s.base),
        };
        main.row_at(x, y)
            .or_else(|| self.also.and_then(|s| s.row_at(x, y)))
    }
}

#[cfg(test)]
mod tests {
    use ratatui::layout::Rect;

    use super::{ListArea, Section};

    /// Three recordings above, twenty parties below: a click maps to the row under it, and a
    /// click on the blank under the third recording is on no row.
    #[test]
    fn a_click_in_two_sections_finds_its_row_and_blank_space_finds_none() {
        let list = ListArea {
            area: Rect::new(0, 2, 80, 10),
            header: 1,
            offset: 0,
            also: Some(Section {
                area: Rect::new(0, 12, 80, 8),
                header: 2,
                offset: 4,
                base: 3,
                len: 20,
            }),
        };
        assert_eq!(list.row_at(5, 3), Some(0));
        assert_eq!(list.row_at(5, 5), Some(2));
        assert_eq!(list.row_at(5, 6), None, "blank below the recordings");
        assert_eq!(list.row_at(5, 13), None, "the parties' header");
        assert_eq!(list.row_at(5, 14), Some(3 + 4), "the first party shown");
        assert_eq!(list.row_at(85, 14), None, "right of the list");
    }
}
