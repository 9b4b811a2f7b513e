import { useEffect, useRef, useState } from "preact/hooks";
import { useI18n } from "../i18n";
import { logError } from "../errors";

/** The bytes of a base64 string. */
export function bytesOf(base64: string): Uint8Array {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * pdf.js, loaded when the first PDF is shown: its legacy build, which runs on the oldest web view
 * the console is built for (vite.config.ts: safari15). Its worker is bundled as a script of the
 * console's own (`?worker&url`: a `.js` file beside the others), which the CSP's
 * `script-src 'self'` allows.
 */
async function pdfjs() {
  const [lib, worker] = await Promise.all([
    import("pdfjs-dist/legacy/build/pdf.mjs"),
    import("pdfjs-dist/legacy/build/pdf.worker.min.mjs?worker&url"),
  ]);
  lib.GlobalWorkerOptions.workerSrc = worker.default;
  return lib;
}

/**
 * A PDF's pages drawn on canvases with pdf.js, scaled to `width` CSS pixels. Nothing of the PDF
 * runs as script: pdf.js is told not to evaluate code from the file.
 */
export function PdfView(props: { pdfBase64: string; width: number; label: string }) {
  const { t } = useI18n();
  const holder = useRef<HTMLDivElement>(null);
  const [state, setState] = useState<"loading" | "shown" | "failed">("loading");

  useEffect(() => {
    let cancelled = false;
    const container = holder.current;
    if (!container) return;
    container.replaceChildren();
    setState("loading");
    (async () => {
      const lib = await pdfjs();
      const doc = await lib.getDocument({ data: bytesOf(props.pdfBase64), isEvalSupported: false }).promise;
      try {
        for (let n = 1; n <= doc.numPages && !cancelled; n++) {
          const page = await doc.getPage(n);
          const base = page.getViewport({ scale: 1 });
          const ratio = window.devicePixelRatio || 1;
          const viewport = page.getViewport({ scale: (props.width / base.width) * ratio });
          const canvas = document.createElement("canvas");
          canvas.width = Math.floor(viewport.width);
          canvas.height = Math.floor(viewport.height);
          canvas.style.width = `${Math.floor(viewport.width / ratio)}px`;
          canvas.className = "pdf-page";
          canvas.setAttribute("role", "img");
          canvas.setAttribute("aria-label", t("fax.pageLabel", { page: n, count: doc.numPages }));
          await page.render({ canvas, viewport }).promise;
          if (cancelled) return;
          container.appendChild(canvas);
        }
      } finally {
        await doc.destroy();
      }
      if (!cancelled) setState("shown");
    })().catch((e: unknown) => {
      if (cancelled) return;
      logError("a fax could not be shown", e);
      setState("failed");
    });
    return () => {
      cancelled = true;
    };
  }, [props.pdfBase64, props.width, t]);

  return (
    <div class="pdf-view" aria-label={props.label} aria-busy={state === "loading"}>
      {state === "loading" && <p class="muted">{t("fax.loadingPdf")}</p>}
      {state === "failed" && (
        <p class="alert alert-error" role="alert">
          {t("fax.pdfFailed")}
        </p>
      )}
      <div ref={holder} class="pdf-pages" />
    </div>
  );
}
