/** The product mark: a white cross on a teal rounded square. Decorative; the name is always written beside it. */
export function Logo(props: { size?: number; class?: string }) {
  const size = props.size ?? 40;
  return (
    <svg
      class={props.class}
      width={size}
      height={size}
      viewBox="0 0 64 64"
      aria-hidden="true"
      focusable="false"
    >
      <rect x="2" y="2" width="60" height="60" rx="14" fill="#0f766e" />
      <rect x="26.5" y="13" width="11" height="38" rx="2.5" fill="#fff" />
      <rect x="13" y="26.5" width="38" height="11" rx="2.5" fill="#fff" />
    </svg>
  );
}
