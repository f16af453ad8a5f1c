//! A rendered buffer as an SVG picture, for README's screenshot: the real
//! cells and colours of a real run, not a drawing.

use std::fmt::Write;

use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

const CELL_W: f32 = 8.4;
const CELL_H: f32 = 17.0;
const FG: &str = "#d0d0d0";
const BG: &str = "#1c1c1c";

fn hex(c: Color, default: &str) -> String {
    const BASIC: [&str; 16] = [
        "#000000", "#cd3131", "#0dbc79", "#e5e510", "#2472c8", "#bc3fbc", "#11a8cd", "#e5e5e5",
        "#666666", "#f14c4c", "#23d18b", "#f5f543", "#3b8eea", "#d670d6", "#29b8db", "#ffffff",
    ];
    match c {
        Color::Reset => default.to_string(),
        Color::Rgb(r, g, b) => format!("#{r:02x}{g:02x}{b:02x}"),
        Color::Indexed(i) if i < 16 => BASIC[i as usize].to_string(),
        Color::Indexed(i) if i >= 232 => {
            let v = 8 + (i - 232) * 10;
            format!("#{v:02x}{v:02x}{v:02x}")
        }
        Color::Indexed(i) => {
            let i = i - 16;
            let f = |n: u8| if n == 0 { 0 } else { 55 + n * 40 };
            format!("#{:02x}{:02x}{:02x}", f(i / 36), f(i / 6 % 6), f(i % 6))
        }
        Color::Black => BASIC[0].into(),
        Color::Red => BASIC[1].into(),
        Color::Green => BASIC[2].into(),
        Color::Yellow => BASIC[3].into(),
        Color::Blue => BASIC[4].into(),
        Color::Magenta => BASIC[5].into(),
        Color::Cyan => BASIC[6].into(),
        Color::Gray => BASIC[7].into(),
        Color::DarkGray => BASIC[8].into(),
        Color::LightRed => BASIC[9].into(),
        Color::LightGreen => BASIC[10].into(),
        Color::LightYellow => BASIC[11].into(),
        Color::LightBlue => BASIC[12].into(),
        Color::LightMagenta => BASIC[13].into(),
        Color::LightCyan => BASIC[14].into(),
        Color::White => BASIC[15].into(),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub fn to_svg(buf: &Buffer) -> String {
    let area = buf.area;
    let (w, h) = (area.width as f32 * CELL_W, area.height as f32 * CELL_H);
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}" font-family="'DejaVu Sans Mono','Menlo','Consolas',monospace" font-size="14">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="{BG}"/>"#);
    for y in 0..area.height {
        // Backgrounds first, as runs of equal colour.
        let mut x = 0;
        while x < area.width {
            let cell = &buf[(area.x + x, area.y + y)];
            let reversed = cell.modifier.contains(Modifier::REVERSED);
            let bg = if reversed {
                hex(cell.fg, FG)
            } else {
                hex(cell.bg, BG)
            };
            let start = x;
            while x < area.width {
                let c = &buf[(area.x + x, area.y + y)];
                let r = c.modifier.contains(Modifier::REVERSED);
                if (if r { hex(c.fg, FG) } else { hex(c.bg, BG) }) != bg {
                    break;
                }
                x += 1;
            }
            if bg != BG {
                let _ = writeln!(
                    out,
                    r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{CELL_H}" fill="{bg}"/>"#,
                    start as f32 * CELL_W,
                    y as f32 * CELL_H,
                    (x - start) as f32 * CELL_W
                );
            }
        }
        // Then text, one element per cell run with the same style, placed by column.
        let baseline = y as f32 * CELL_H + 13.0;
        let mut x = 0;
        while x < area.width {
            let cell = &buf[(area.x + x, area.y + y)];
            let sym = cell.symbol();
            if sym.trim().is_empty() {
                x += 1;
                continue;
            }
            let reversed = cell.modifier.contains(Modifier::REVERSED);
            let fg = if reversed {
                hex(cell.bg, BG)
            } else {
                hex(cell.fg, FG)
            };
            let bold = cell.modifier.contains(Modifier::BOLD);
            let _ = write!(
                out,
                r#"<text x="{:.1}" y="{baseline:.1}" fill="{fg}"{}>{}</text>"#,
                x as f32 * CELL_W,
                if bold { r#" font-weight="bold""# } else { "" },
                escape(sym)
            );
            x += 1;
        }
        out.push('\n');
    }
    out.push_str("</svg>\n");
    out
}
