import { useCallback, useEffect, useState } from "preact/hooks";
import { commands, type DealPrice, type PartnerDeal, type PartnerOption } from "../bindings";
import { FieldError } from "../components/FieldError";
import type { AppError } from "../errors";
import { formatDate, formatMoney } from "../i18n/format";
import { useI18n } from "../i18n";
import { checkAmount } from "../money";
import { callCommand, useCommand } from "../useCommand";
import { ErrorAlert } from "../components/ErrorAlert";

const CATEGORIES = ["insurance", "direct"] as const;
const PRICE_FIELDS = ["partner", "category", "amount", "currency"] as const;

/**
 * Each partner's deal price per consultation category, and setting one (admins). Read again when
 * the partner list changes, so a partner just added is there.
 */
export function DealPrices(props: { partners: PartnerOption[] | null }) {
  const { t, locale } = useI18n();
  const [deals, setDeals] = useState<PartnerDeal[] | null>(null);
  const [partner, setPartner] = useState("");
  const [category, setCategory] = useState<(typeof CATEGORIES)[number]>("insurance");
  const [amount, setAmount] = useState("");
  const [currency, setCurrency] = useState("NOK");
  const [saved, setSaved] = useState("");
  const { busy, setError, run, fieldError, generalError } = useCommand();

  const load = useCallback(() => {
    callCommand(commands.partnerPrices(), {
      ok: (list) => {
        setDeals(list);
        const first = list[0];
        if (first) setPartner((p) => p || String(first.partner_id));
      },
      failed: setError,
    });
  }, [setError]);
  useEffect(load, [load, props.partners]);

  const price = (p: DealPrice) => formatMoney(p.unit_price, p.currency, locale);

  function submit(e: Event) {
    e.preventDefault();
    if (busy) return;
    setSaved("");
    const problem: AppError | null =
      checkAmount(amount, "amount", t) ??
      (/^[A-Za-z]{3}$/.test(currency.trim()) ? null : { code: "invalid_input", field: "currency", message: t("prices.currencyInvalid") });
    if (problem) {
      setError(problem);
      document.getElementById(`price-${problem.field}`)?.focus();
      return;
    }
    run(commands.partnerPriceSet(Number(partner), category, amount, currency), {
      ok: (set) => {
        const name = deals?.find((d) => d.partner_id === set.partner_id)?.partner ?? "";
        setSaved(t("prices.saved", { partner: name, category: t(`category.${category}`), price: price(set) }));
        setAmount("");
        load();
      },
      failed: (err) => {
        if (err.field) document.getElementById(`price-${err.field}`)?.focus();
      },
    });
  }

  const general = generalError(PRICE_FIELDS);
  const field = (name: (typeof PRICE_FIELDS)[number]) => ({
    "aria-invalid": !!fieldError(name),
    "aria-describedby": fieldError(name) ? `price-${name}-error` : undefined,
  });
  return (
    <section class="deal-prices" aria-labelledby="prices-title">
      <h3 id="prices-title">{t("prices.title")}</h3>
      <p class="hint">{t("prices.hint")}</p>
      <table class="data-table price-table" aria-labelledby="prices-title">
        <thead>
          <tr>
            <th scope="col">{t("prices.partner")}</th>
            {CATEGORIES.map((c) => (
              <th scope="col" key={c}>
                {t(`category.${c}`)}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {deals?.map((d) => (
            <tr key={d.partner_id}>
              <th scope="row">{d.partner}</th>
              {CATEGORIES.map((c) => {
                const p = d.prices.find((x) => x.category === c);
                return (
                  <td key={c} class="num">
                    {p ? (
                      <span title={t("prices.setBy", { name: p.set_by, date: formatDate(p.set_at, locale) })}>{price(p)}</span>
                    ) : (
                      <span class="muted no-deal-price">{t("prices.none")}</span>
                    )}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
      {deals?.some((d) => d.prices.length < CATEGORIES.length) && <p class="hint">{t("prices.noneHint")}</p>}
      <form class="form price-form" onSubmit={submit} noValidate aria-labelledby="price-new-heading">
        <h3 id="price-new-heading">{t("prices.new")}</h3>
        <div class="field-row">
          <div class={`field${fieldError("partner") ? " has-error" : ""}`}>
            <label for="price-partner">{t("prices.partner")}</label>
            <select id="price-partner" value={partner} onChange={(e) => setPartner((e.target as HTMLSelectElement).value)} {...field("partner")}>
              {deals?.map((d) => (
                <option key={d.partner_id} value={String(d.partner_id)}>
                  {d.partner}
                </option>
              ))}
            </select>
            <FieldError id="price-partner-error" message={fieldError("partner")} />
          </div>
          <div class={`field${fieldError("category") ? " has-error" : ""}`}>
            <label for="price-category">{t("prices.category")}</label>
            <select
              id="price-category"
              value={category}
              onChange={(e) => setCategory((e.target as HTMLSelectElement).value as (typeof CATEGORIES)[number])}
              {...field("category")}
            >
              {CATEGORIES.map((c) => (
                <option key={c} value={c}>
                  {t(`category.${c}`)}
                </option>
              ))}
            </select>
            <FieldError id="price-category-error" message={fieldError("category")} />
          </div>
        </div>
        <div class="field-row">
          <div class={`field${fieldError("amount") ? " has-error" : ""}`}>
            <label for="price-amount">{t("prices.amount")}</label>
            <input
              id="price-amount"
              inputMode="decimal"
              autoComplete="off"
              value={amount}
              onInput={(e) => setAmount((e.target as HTMLInputElement).value)}
              {...field("amount")}
            />
            <FieldError id="price-amount-error" message={fieldError("amount")} />
          </div>
          <div class={`field${fieldError("currency") ? " has-error" : ""}`}>
            <label for="price-currency">{t("prices.currency")}</label>
            <input
              id="price-currency"
              class="currency-input"
              autoComplete="off"
              maxLength={3}
              value={currency}
              onInput={(e) => setCurrency((e.target as HTMLInputElement).value.toUpperCase())}
              {...field("currency")}
            />
            <FieldError id="price-currency-error" message={fieldError("currency")} />
          </div>
        </div>
        <ErrorAlert error={general} />
        {saved && (
          <p class="alert alert-success" role="status">
            {saved}
          </p>
        )}
        <button type="submit" class="button button-secondary" aria-disabled={busy || !partner}>
          {busy ? t("common.saving") : t("prices.set")}
        </button>
      </form>
    </section>
  );
}
