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
