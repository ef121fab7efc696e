//! Windowed running maximum over a time or round count, kept in three samples (Kathleen
//! Nichols' algorithm; Linux `lib/win_minmax.c` `minmax_running_max`): the best, second
//! best and third best values seen in the window's successive quarters/halves.

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Sample {
    t: u32,
    v: u64,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct MinMax {
    s: [Sample; 3],
}

impl MinMax {
    pub fn get(&self) -> u64 {
        self.s[0].v
    }

    /// Linux `minmax_reset`: forget everything, `v` at `t` is the window.
    pub fn reset(&mut self, t: u32, v: u64) -> u64 {
        self.s = [Sample { t, v }; 3];
        v
    }

    /// Linux `minmax_running_max`: adds `v` measured at `t`; `win` long window.
    pub fn running_max(&mut self, win: u32, t: u32, v: u64) -> u64 {
        let val = Sample { t, v };
        if v >= self.s[0].v || t.wrapping_sub(self.s[2].t) > win {
            return self.reset(t, v);
        }
        if v >= self.s[1].v {
            self.s[1] = val;
            self.s[2] = val;
        } else if v >= self.s[2].v {
            self.s[2] = val;
        }
        self.subwin_update(win, val)
    }

    /// Linux `minmax_subwin_update`: age the best choices as the window slides.
    fn subwin_update(&mut self, win: u32, val: Sample) -> u64 {
        let dt = val.t.wrapping_sub(self.s[0].t);
        if dt > win {
            self.s = [self.s[1], self.s[2], val];
            if val.t.wrapping_sub(self.s[0].t) > win {
                self.s = [self.s[1], self.s[2], val];
            }
        } else if self.s[1].t == self.s[0].t && dt > win / 4 {
            self.s[1] = val;
            self.s[2] = val;
        } else if self.s[2].t == self.s[1].t && dt > win / 2 {
            self.s[2] = val;
        }
        self.s[0].v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_expires_after_window() {
        let mut m = MinMax::default();
        m.reset(0, 0);
        assert_eq!(m.running_max(10, 0, 100), 100);
        // Lower samples don't replace the max within the window.
        for t in 1..=10 {
            assert_eq!(m.running_max(10, t, 50 + u64::from(t)), 100);
        }
        // Past the window the best later sample takes over.
        let v = m.running_max(10, 11, 40);
        assert!((40..100).contains(&v), "{v}");
        // A new max resets at once.
        assert_eq!(m.running_max(10, 12, 500), 500);
    }
}
