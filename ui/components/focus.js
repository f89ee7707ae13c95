// After a lesson's "Try it": scroll to the experiment and outline it briefly, so the change is not below the fold.
export default function (component) {
  const target = document.getElementById(component.data.target);
  if (!target) return;
  const block = target.closest('[data-testid="stElementContainer"]') || target;
  block.scrollIntoView({ behavior: "smooth", block: "start" });
  const section = block.parentElement;
  section.classList.add("cnnlab-flash");
  const timer = setTimeout(() => section.classList.remove("cnnlab-flash"), 1800);
  return () => clearTimeout(timer);
}
