// "Link to this view": the address bar as it is now, with a copy button, and its presentation-mode twin.
//
// Read in the browser, not sent by the server: the lesson and the experiment rerun on their own (fragments), and
// each writes its part of the address (the lesson step, the settings), so a link drawn by one of them would miss
// what the other changed since. Streamlit keeps the address bar up to date; this reads it when shown and on copy.
export default function (component) {
  const { data, parentElement } = component;
  const root = parentElement.querySelector(".cnnlab-link") || document.createElement("div");
  root.className = "cnnlab-link";
  root.replaceChildren();
  parentElement.appendChild(root);

  // Commas are legal in a query and keep a layer stack readable (rf_layers=c3p1,m2s2), so they are not escaped.
  const readable = (href) => href.replace(/%2C/gi, ",");
  const withPresent = (href, present) => {  // the class's link opens in normal mode, the projector's in presentation
    const url = new URL(href);
    if (present) url.searchParams.set("present", "1");
    else url.searchParams.delete("present");
    return url.toString();
  };
  const rows = [
    { help: data.labels.share_help, address: () => readable(withPresent(window.location.href, false)) },
    { help: data.labels.present_help, address: () => readable(withPresent(window.location.href, true)) },
  ];
  const fields = [];
  for (const row of rows) {
    const help = document.createElement("div");
    help.className = "help";
    help.textContent = row.help;
    const line = document.createElement("div");
    line.className = "line";
    const field = document.createElement("input");
    field.type = "text";
    field.readOnly = true;
    field.setAttribute("aria-label", row.help);
    const copy = document.createElement("button");
    copy.type = "button";
    copy.textContent = data.labels.copy;
    copy.addEventListener("click", async () => {
      field.value = row.address();
      let done = false;
      try {
        await navigator.clipboard.writeText(field.value); // needs https or localhost
        done = true;
      } catch (error) {
        field.select(); // a plain-http classroom server: the old way
        done = document.execCommand && document.execCommand("copy");
      }
      copy.textContent = done ? data.labels.copied : data.labels.select;
      field.select();
      setTimeout(() => { copy.textContent = data.labels.copy; }, 1500);
    });
    line.append(field, copy);
    root.append(help, line);
    fields.push([field, row.address]);
  }
  const refresh = () => {
    for (const [field, address] of fields) {
      if (document.activeElement !== field) field.value = address();
    }
  };
  refresh();
  const timer = setInterval(refresh, 700); // the address changes without this component being drawn again
  return () => clearInterval(timer);
}
