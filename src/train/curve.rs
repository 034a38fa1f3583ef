//! The loss curve of a training run, drawn from its JSONL log: training and validation loss on a
//! logarithmic axis against the step.

use std::path::Path;

use crate::export::canvas::{Canvas, PictureError, PlotFrame, BLACK, WHITE};

const TRAIN: [u8; 3] = [31, 119, 180];
const VAL: [u8; 3] = [214, 39, 40];

/// (step, loss) pairs.
type Series = Vec<(f64, f64)>;

/// (step, loss) pairs of each kind in the log.
fn read_log(path: &Path) -> Result<(Series, Series), PictureError> {
    let text = std::fs::read_to_string(path).map_err(|e| PictureError {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    let mut train = Vec::new();
    let mut val = Vec::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let (Some(step), Some(loss)) = (v["step"].as_f64(), v["loss"].as_f64()) else {
            continue;
        };
        if loss > 0.0 && loss.is_finite() {
            match v["kind"].as_str() {
                Some("train") => train.push((step, loss)),
                Some("val") => val.push((step, loss)),
                _ => {}
            }
        }
    }
    Ok((train, val))
}

/// Draws `log.jsonl` at `log` into the PNG `out`.
pub fn write_loss_curve(log: &Path, out: &Path) -> Result<(), PictureError> {
    let (train, val) = read_log(log)?;
    let (w, h) = (800usize, 480usize);
    let (left, right, top, bottom) = (80.0, 20.0, 30.0, 50.0);
    let mut c = Canvas::new(w, h, WHITE);
    let all: Vec<&(f64, f64)> = train.iter().chain(&val).collect();
    let max_step = all.iter().map(|p| p.0).fold(1.0, f64::max);
    let lo = all
        .iter()
        .map(|p| p.1.log10())
        .fold(f64::INFINITY, f64::min);
    let hi = all
        .iter()
        .map(|p| p.1.log10())
        .fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if lo.is_finite() {
        (lo.floor(), hi.ceil().max(lo.floor() + 1.0))
    } else {
        (-1.0, 1.0)
    };
    let plot_w = w as f64 - left - right;
    let plot_h = h as f64 - top - bottom;
    let x_of = |step: f64| left + step / max_step * plot_w;
    let y_of = |loss: f64| top + (hi - loss.log10()) / (hi - lo) * plot_h;
    let frame = PlotFrame {
        left,
        top,
        width: plot_w,
        height: plot_h,
    };
    // Decades on the loss axis.
    let mut decade = lo;
    while decade <= hi {
        let y = top + (hi - decade) / (hi - lo) * plot_h;
        frame.y_grid(&mut c, y, &format!("1e{}", decade as i64));
        decade += 1.0;
    }
    for k in 0..=4 {
        let step = max_step * k as f64 / 4.0;
        frame.x_grid(&mut c, x_of(step), &format!("{}", step.round() as u64));
    }
    frame.axes(&mut c);
    for (series, color) in [(&train, TRAIN), (&val, VAL)] {
        for pair in series.windows(2) {
            c.line(
                (x_of(pair[0].0), y_of(pair[0].1)),
                (x_of(pair[1].0), y_of(pair[1].1)),
                color,
                2,
            );
        }
        if let [only] = series.as_slice() {
            c.fill_rect(
                x_of(only.0) as i64 - 2,
                y_of(only.1) as i64 - 2,
                x_of(only.0) as i64 + 2,
                y_of(only.1) as i64 + 2,
                color,
            );
        }
    }
    c.text(left as i64 + 10, 8, "train loss", TRAIN, 2);
    c.text(left as i64 + 160, 8, "val loss", VAL, 2);
    c.text(
        (left + plot_w) as i64 - Canvas::text_width("step", 2),
        h as i64 - 18,
        "step",
        BLACK,
        2,
    );
    c.save_png(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_falling_loss_is_drawn_from_top_left_to_bottom_right() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log.jsonl");
        let lines: String = (1..=10)
            .map(|s| {
                format!(
                    "{{\"kind\":\"train\",\"step\":{s},\"loss\":{}}}\n",
                    10f64.powf(-(s as f64) / 5.0)
                )
            })
            .collect();
        std::fs::write(&log, lines + "not json\n").unwrap();
        let out = dir.path().join("loss.png");
        write_loss_curve(&log, &out).unwrap();
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&out).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut buf).unwrap();
        let is_train = |x: usize, y: usize| buf[3 * (y * 800 + x)..3 * (y * 800 + x) + 3] == TRAIN;
        // Some curve pixel in the upper half near the left, and in the lower half near the right.
        let upper_left = (90..300).any(|x| (30..240).any(|y| is_train(x, y)));
        let lower_right = (600..780).any(|x| (240..430).any(|y| is_train(x, y)));
        assert!(upper_left && lower_right);
        assert!(write_loss_curve(&dir.path().join("missing.jsonl"), &out).is_err());
    }
}
