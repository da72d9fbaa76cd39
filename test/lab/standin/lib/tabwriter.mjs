// Go's text/tabwriter as Consul's CLI uses it (padchar ' ', no flags): text is cells ended by
// tabs, lines ended by newlines; the text after a line's last tab is not a cell. A column block
// is a run of consecutive lines that have the cell; its cells are padded to the block's widest
// cell plus `padding`, and to at least `minwidth`. Widths count runes.
export function tabwrite(text, { minwidth = 0, padding = 1 } = {}) {
  const lines = text.split('\n').map((l) => l.split('\t'));
  const width = (s) => [...s].length;
  const widths = [];
  const out = [];
  const writeLines = (from, to) => {
    for (let i = from; i < to; i++) {
      out.push(lines[i].map((c, j) => (j < widths.length ? c + ' '.repeat(widths[j] - width(c)) : c)).join(''));
    }
  };
  const format = (line0, line1) => {
    const column = widths.length;
    for (let t = line0; t < line1; t++) {
      if (column >= lines[t].length - 1) continue;
      writeLines(line0, t);
      line0 = t;
      let w = minwidth;
      for (; t < line1; t++) {
        const cells = lines[t];
        if (column >= cells.length - 1) break;
        w = Math.max(w, width(cells[column]) + padding);
      }
      widths.push(w);
      format(line0, t);
      widths.pop();
      line0 = t;
    }
    writeLines(line0, line1);
  };
  format(0, lines.length);
  return out.join('\n');
}
