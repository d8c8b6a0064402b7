// Deferred: runs once the page is parsed, before the theme starts (it then sees the classes added here).
// - In a table, a column of sentences keeps a readable width instead of being squeezed to a sliver.
// - A cell whose whole text is a verdict is marked, for ksc.css to colour.
const kscVerdicts = {"reproduced": "ksc-reproduced", "partly": "ksc-partly", "not reproduced": "ksc-not-reproduced"};
for (const table of document.querySelectorAll("div.cell_output table")) {
  const rows = [...table.rows];
  const columns = Math.max(...rows.map(row => row.cells.length));
  for (let c = 0; c < columns; c++) {
    const cells = rows.map(row => row.cells[c]).filter(Boolean);
    const longest = Math.max(...cells.map(cell => cell.textContent.trim().length));
    if (longest > 60) cells.forEach(cell => cell.classList.add("ksc-prose"));
  }
}
for (const cell of document.querySelectorAll("div.cell_output td")) {
  const verdict = kscVerdicts[cell.textContent.trim()];
  if (verdict) cell.classList.add("ksc-verdict", verdict);
}
