/**
 * Progress bars on a terminal (stderr), one line per task, redrawn in place. When stderr is not a
 * terminal, or with `--json`, every method does nothing: piped output never carries bars.
 */
import type { OutStream } from './io.js';

export interface ProgressLine {
  /** Sets the bar (0–100, or undefined for "unknown") and the text after it. */
  update(percent: number | undefined, text: string): void;
  /** Fills the bar and shows `text`. */
  done(text: string): void;
  /** Marks the line as failed. */
  fail(text: string): void;
}

export interface Progress {
  readonly enabled: boolean;
  line(label: string): ProgressLine;
  /** Stops redrawing; the last state stays on screen. */
  close(): void;
}

const BAR = 24;

interface State {
  label: string;
  percent: number | undefined;
  text: string;
  mark: string;
}

/** Renders one bar line: `label [#####-----]  42% text`. */
export function renderBar(label: string, percent: number | undefined, text: string, labelWidth = label.length, mark = ' '): string {
  const p = percent === undefined ? undefined : Math.max(0, Math.min(100, percent));
  const filled = p === undefined ? 0 : Math.round((p / 100) * BAR);
  const bar = p === undefined ? '·'.repeat(BAR) : '#'.repeat(filled) + '-'.repeat(BAR - filled);
  const pct = p === undefined ? '   ' : `${String(Math.round(p)).padStart(3)}%`;
  return `${mark} ${label.padEnd(labelWidth)} [${bar}] ${pct} ${text}`.trimEnd();
}

class TerminalProgress implements Progress {
  readonly enabled = true;
  private readonly lines: State[] = [];
  private drawn = 0;
  private closed = false;

  constructor(private readonly out: OutStream) {}

  line(label: string): ProgressLine {
    const state: State = { label, percent: 0, text: '', mark: ' ' };
    this.lines.push(state);
    this.draw();
    return {
      update: (percent, text) => {
        state.percent = percent;
        state.text = text;
        this.draw();
      },
      done: (text) => {
        state.percent = 100;
        state.text = text;
        state.mark = '✓';
        this.draw();
      },
      fail: (text) => {
        state.text = text;
        state.mark = '✗';
        this.draw();
      },
    };
  }

  private draw(): void {
    if (this.closed) return;
    const width = Math.max(40, (this.out.columns || 100) - 1);
    const labelWidth = Math.max(...this.lines.map((l) => l.label.length));
    let s = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
    for (const l of this.lines) s += `\r\x1b[2K${renderBar(l.label, l.percent, l.text, labelWidth, l.mark).slice(0, width)}\n`;
    this.drawn = this.lines.length;
    this.out.write(s);
  }

  close(): void {
    this.closed = true;
  }
}

const disabled: Progress = {
  enabled: false,
  line: () => ({ update: () => {}, done: () => {}, fail: () => {} }),
  close: () => {},
};

/** Bars on `out` when it is a terminal and `enabled`; otherwise a progress that prints nothing. */
export function createProgress(out: OutStream, enabled: boolean): Progress {
  return enabled && out.isTTY ? new TerminalProgress(out) : disabled;
}
