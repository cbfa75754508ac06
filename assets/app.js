// Copy buttons: progressive enhancement only. Without JavaScript the
// buttons stay hidden and the URL field next to them can be selected.
"use strict";
document.querySelectorAll("button[data-copy]").forEach((button) => {
  if (!navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", async () => {
    const label = button.textContent;
    try {
      await navigator.clipboard.writeText(button.dataset.copy);
      button.textContent = "Copied";
    } catch {
      button.textContent = "Select the link and copy it";
    }
    setTimeout(() => { button.textContent = label; }, 2000);
  });
});

// "Use this device's zone": fills the time-zone form with the browser's
// own IANA zone. Without JavaScript the field is typed in.
const here = document.getElementById("tz-here");
const tzField = document.getElementById("tz");
if (here && tzField && window.Intl) {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone) {
    here.hidden = false;
    here.addEventListener("click", () => {
      tzField.value = zone;
      tzField.form.submit();
    });
  }
}
