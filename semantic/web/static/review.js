// The review queue: m / n / s decide the item shown (unless typing in a field).
document.addEventListener("keydown", function (event) {
  var target = event.target;
  if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA")) { return; }
  if (event.ctrlKey || event.metaKey || event.altKey) { return; }
  var ids = { m: "match", n: "not_match", s: "skip" };
  var button = ids[event.key] && document.getElementById(ids[event.key]);
  if (button) { event.preventDefault(); button.click(); }
});
