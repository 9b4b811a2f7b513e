import { useCallback, useEffect, useState } from "preact/hooks";
import { commands, type Billing, type BillingLine, type PartnerOption } from "../bindings";
import { Dialog } from "../components/Dialog";
import { FieldError } from "../components/FieldError";
import type { AppError } from "../errors";
import { formatDate, formatMoney } from "../i18n/format";
import { useI18n } from "../i18n";
import { cents, checkAmount } from "../money";
import { callCommand, useCommand, useLatestRead } from "../useCommand";
import { ErrorAlert } from "../components/ErrorAlert";
import { FormButtons } from "../components/FormButtons";
import { PeriodFields, usePeriod } from "../components/PeriodFields";

/**
 * Billing: a partner's consultations in a period with price, discount and total as the database
 * keeps them, their sums, and a discount given on one with a reason (admins).
 */
export function BillingView() {
  const { t, locale } = useI18n();
  const [partners, setPartners] = useState<PartnerOption[]>([]);
  const [partner, setPartner] = useState("");
  const period = usePeriod();
  const [billing, setBilling] = useState<Billing | null>(null);
  const [reading, setReading] = useState(false);
  const [discounting, setDiscounting] = useState<BillingLine | null>(null);
  const [notice, setNotice] = useState("");
  const { setError, fieldError, generalError } = useCommand();
  const read = useLatestRead();

  const show = useCallback(
    (partnerId: string, from: string, to: string) => {
      if (!partnerId) return;
      setReading(true);
      read(commands.billing(Number(partnerId), from, to), {
        ok: (b) => {
          setError(null);
          setBilling(b);
          setReading(false);
        },
        failed: (e) => {
          setError(e);
          setReading(false);
          if (e.field) document.getElementById(`billing-${e.field}`)?.focus();
        },
      });
    },
    [read, setError],
  );

  useEffect(() => {
    callCommand(commands.partners(), {
      ok: (list) => {
        setPartners(list);
        const first = list[0];
        if (first) {
          setPartner(String(first.id));
          show(String(first.id), period.from, period.to);
        }
      },
      failed: setError,
    });
    // Read once, with the first partner and the default period.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  function submit(e: Event) {
    e.preventDefault();
    setNotice("");
    show(partner, period.from, period.to);
  }

  const money = (amount: string | null, currency: string | null) =>
    amount !== null && currency !== null ? formatMoney(amount, currency, locale) : "";
  const general = generalError(["partner", "from", "to"]);

  return (
    <div class="card admin-wide billing" aria-labelledby="billing-title">
      <h2 id="billing-title">{t("billing.title")}</h2>
      <p class="hint">{t("billing.hint")}</p>
      <form class="billing-filter" onSubmit={submit} noValidate aria-labelledby="billing-title">
        <div class={`field${fieldError("partner") ? " has-error" : ""}`}>
          <label for="billing-partner">{t("billing.partner")}</label>
          <select id="billing-partner" value={partner} onChange={(e) => setPartner((e.target as HTMLSelectElement).value)}>
            {partners.map((p) => (
              <option key={p.id} value={String(p.id)}>
                {p.name}
              </option>
            ))}
          </select>
          <FieldError id="billing-partner-error" message={fieldError("partner")} />
        </div>
        <PeriodFields idPrefix="billing" labels={{ from: t("billing.from"), to: t("billing.to") }} period={period} fieldError={fieldError} />
        <button type="submit" class="button button-secondary" aria-disabled={reading || !partner}>
          {reading ? t("common.loading") : t("billing.show")}
        </button>
      </form>
      <ErrorAlert error={general} />
      {notice && (
        <p class="alert alert-success" role="status">
          {notice}
        </p>
      )}
      {billing && billing.lines.length === 0 && <p class="muted billing-empty">{t("billing.empty", { partner: billing.partner })}</p>}
      {billing && billing.lines.length > 0 && (
        <table class="data-table billing-table" aria-label={`${t("billing.title")}: ${billing.partner}`}>
          <thead>
            <tr>
              <th scope="col">{t("billing.consultation")}</th>
              <th scope="col">{t("billing.patient")}</th>
              <th scope="col" class="amount">
                {t("billing.price")}
              </th>
              <th scope="col" class="amount">
                {t("billing.discount")}
              </th>
              <th scope="col" class="amount">
                {t("billing.total")}
              </th>
              <th scope="col">
                <span class="sr-only">{t("billing.giveDiscount")}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {billing.lines.map((l) => (
              <tr key={l.consultation_id} data-consultation={l.consultation_id}>
                <td class="consultation">
                  <span class="num">{l.consultation_id}</span>
                  <span class="muted note">
                    {t("billing.created")} {formatDate(l.created_at, locale)}
                  </span>
                </td>
                <td>
                  {l.patient ?? t("common.none")}
                  <span class="muted note">{t(`state.${l.state}`)}</span>
                </td>
                {l.order_id === null ? (
                  <td class="muted" colSpan={3}>
                    {t("billing.noOrder")}
                  </td>
                ) : (
                  <>
                    <td class="amount price">
                      {money(l.price, l.currency)}
                      {l.no_deal_price && <span class="muted note">{t("prices.none")}</span>}
                    </td>
                    <td class="amount discount">
                      {money(l.discount, l.currency)}
                      {l.discount !== null && cents(l.discount) > 0n && l.discount_reason && (
                        <span class="muted note">
                          {l.discount_reason}
                          {l.discount_set_by && l.discount_set_at && (
                            <> ({t("billing.discountBy", { name: l.discount_set_by, date: formatDate(l.discount_set_at, locale) })})</>
                          )}
                        </span>
                      )}
                    </td>
                    <td class="amount total">{money(l.total, l.currency)}</td>
                  </>
                )}
                <td>
                  {l.price !== null && cents(l.price) > 0n && (
                    <button
                      type="button"
                      class="button button-link"
                      aria-label={t("billing.giveDiscountFor", { id: l.consultation_id })}
                      onClick={() => {
                        setNotice("");
                        setDiscounting(l);
                      }}
                    >
                      {t("billing.giveDiscount")}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            {billing.sums.map((s) => (
              <tr key={s.currency} class="sum-row">
                <th scope="row" colSpan={2}>
                  {t("billing.sum", { count: s.consultations })}
                </th>
                <td class="amount">{formatMoney(s.price, s.currency, locale)}</td>
                <td class="amount">{formatMoney(s.discount, s.currency, locale)}</td>
                <td class="amount">{formatMoney(s.total, s.currency, locale)}</td>
                <td />
              </tr>
            ))}
          </tfoot>
        </table>
      )}
      {discounting && (
        <DiscountDialog
          line={discounting}
          onClose={() => setDiscounting(null)}
          onSaved={(line) => {
            setDiscounting(null);
            setNotice(t("discount.saved", { id: line.consultation_id, total: money(line.total, line.currency) }));
            // The sums change with the line: read the period again.
            if (billing) show(String(billing.partner_id), billing.from, billing.to);
          }}
        />
      )}
    </div>
  );
}

const DISCOUNT_FIELDS = ["amount", "reason"] as const;

/** A discount on one consultation's line item, with the reason; errors sit under their fields. */
function DiscountDialog(props: { line: BillingLine; onClose: () => void; onSaved: (line: BillingLine) => void }) {
  const { t, locale } = useI18n();
  const l = props.line;
  const price = l.price !== null && l.currency !== null ? formatMoney(l.price, l.currency, locale) : "";
  const [amount, setAmount] = useState(l.discount !== null && cents(l.discount) > 0n ? l.discount : "");
  const [reason, setReason] = useState("");
  const { busy, setError, run, fieldError, generalError } = useCommand();

  function submit(e: Event) {
    e.preventDefault();
    if (busy) return;
    const problem: AppError | null =
      checkAmount(amount, "amount", t, l.price !== null ? { amount: l.price, shown: price } : undefined) ??
      (reason.trim() ? null : { code: "invalid_input", field: "reason", message: t("discount.reasonRequired") });
    if (problem) {
      setError(problem);
      document.getElementById(`discount-${problem.field}`)?.focus();
      return;
    }
    run(commands.orderDiscountSet(l.consultation_id, amount, reason), {
      ok: props.onSaved,
      failed: (err) => {
        if (err.field) document.getElementById(`discount-${err.field}`)?.focus();
      },
    });
  }

  const general = generalError(DISCOUNT_FIELDS);
  return (
    <Dialog id="discount" title={t("discount.title", { id: l.consultation_id })} onClose={props.onClose}>
      <form class="form" onSubmit={submit} noValidate>
        <p class="discount-price">{t("discount.price", { price })}</p>
        <div class={`field${fieldError("amount") ? " has-error" : ""}`}>
          <label for="discount-amount">{t("discount.amount")}</label>
          <input
            id="discount-amount"
            inputMode="decimal"
            autoComplete="off"
            value={amount}
            onInput={(e) => setAmount((e.target as HTMLInputElement).value)}
            aria-invalid={!!fieldError("amount")}
            aria-describedby={fieldError("amount") ? "discount-amount-error" : "discount-amount-hint"}
          />
          <p class="hint" id="discount-amount-hint">
            {t("discount.amountHint")}
          </p>
          <FieldError id="discount-amount-error" message={fieldError("amount")} />
        </div>
        <div class={`field${fieldError("reason") ? " has-error" : ""}`}>
          <label for="discount-reason">{t("discount.reason")}</label>
          <textarea
            id="discount-reason"
            rows={3}
            maxLength={500}
            value={reason}
            onInput={(e) => setReason((e.target as HTMLTextAreaElement).value)}
            aria-invalid={!!fieldError("reason")}
            aria-describedby={fieldError("reason") ? "discount-reason-error" : "discount-reason-hint"}
          />
          <p class="hint" id="discount-reason-hint">
            {t("discount.reasonHint")}
          </p>
          <FieldError id="discount-reason-error" message={fieldError("reason")} />
        </div>
        <ErrorAlert error={general} />
        <FormButtons busy={busy} label={t("discount.save")} busyLabel={t("common.saving")} onCancel={props.onClose} />
      </form>
    </Dialog>
  );
}
