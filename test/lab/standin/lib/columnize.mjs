// Port of the table layout Consul's CLI uses (ryanuber/columnize): columns padded to the
// widest cell, glued with two spaces, the last column never padded.
export function columnize(rows, glue = '  ') {
  const widths = [];
  for (const row of rows) row.forEach((cell, i) => { widths[i] = Math.max(widths[i] ?? 0, String(cell).length); });
  return rows
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? String(cell) : String(cell).padEnd(widths[i] ?? 0))).join(glue))
    .join('\n');
}
