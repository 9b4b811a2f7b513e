import type { Ref } from "preact";
import { useState } from "preact/hooks";
import type { StaffSession } from "../bindings";
import { useI18n } from "../i18n";
import { AuditLog } from "./AdminAudit";
import { BillingView } from "./AdminBilling";
import { CrmSyncs, Deliveries } from "./AdminDeliveries";
import { FormTemplates } from "./AdminForms";
import { Outcomes } from "./AdminOutcomes";
import { Partners } from "./AdminPartners";
import { ReportExport } from "./AdminReport";
import { Reviews } from "./AdminReviews";
import { OnboardingRules } from "./AdminRules";
import { StaffList } from "./AdminStaff";
import { Workstations } from "./AdminWorkstations";

/** The administrator's screen: the insurer report, outcomes, form templates, the forms required at onboarding, partners and their deal prices, billing, patients' ratings, the audit log, staff, deliveries and enrolled workstations. */
export function Admin(props: { session?: StaffSession; headingRef?: Ref<HTMLHeadingElement> }) {
  const { t } = useI18n();
  const [templatesChanged, setTemplatesChanged] = useState(0);
  return (
    <section class="screen" aria-labelledby="screen-title">
      <h1 id="screen-title" tabIndex={-1} ref={props.headingRef}>
        {t("screen.admin")}
      </h1>
      <div class="admin-grid">
        <ReportExport />
        <Outcomes />
      </div>
      <FormTemplates onChanged={() => setTemplatesChanged((n) => n + 1)} />
      <OnboardingRules templatesChanged={templatesChanged} />
      <div class="admin-grid">
        <Partners />
      </div>
      <BillingView />
      <Reviews />
      <AuditLog />
      <div class="admin-grid">
        <StaffList me={props.session?.staff_id ?? null} />
        <Deliveries />
      </div>
      <CrmSyncs />
      <Workstations />
    </section>
  );
}
