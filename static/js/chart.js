// Month charts (server-drawn SVG): clicking the bars picks the baseline in the form beside
// the chart. The form's month selects work on their own without this.
export function initCharts(root) {
  for (const chart of root.querySelectorAll("svg[data-chart=months]")) {
    if (chart.dataset.ready) continue;
    chart.dataset.ready = "true";
    const section = chart.closest("section");
    const form = section && section.querySelector("form[data-baseline-form]");
    if (!form) continue;
    for (const hint of form.querySelectorAll(".app-js-only")) hint.hidden = false;
    const first = form.querySelector("[name=baseline_first]");
    const last = form.querySelector("[name=baseline_last]");
    let picking = "first";
    chart.addEventListener("click", (event) => {
      const bar = event.target.closest("rect[data-month]");
      if (!bar || !first || !last) return;
      const month = bar.dataset.month;
      if (picking === "first") {
        first.value = month;
        last.value = month;
        picking = "last";
      } else {
        if (month < first.value) { last.value = first.value; first.value = month; }
        else { last.value = month; }
        picking = "first";
      }
      for (const rect of chart.querySelectorAll("rect[data-month]")) {
        const m = rect.dataset.month;
        rect.classList.toggle("app-chart__bar--picked", m >= first.value && m <= last.value);
      }
    });
  }
}
