import { render } from "preact";
import { markStart } from "./perf";
import { App } from "./App";
import { I18nProvider } from "./i18n";
import "./styles/base.css";
import "./styles/signin.css";
import "./styles/shell.css";
import "./styles/queue.css";
import "./styles/patients.css";
import "./styles/results.css";
import "./styles/screening.css";
import "./styles/card.css";

markStart("script");
const root = document.getElementById("app");
if (!root) throw new Error("missing #app element");
render(
  <I18nProvider>
    <App />
  </I18nProvider>,
  root,
);
