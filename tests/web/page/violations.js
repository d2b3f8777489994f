// Loaded first, as a classic script: records every CSP violation the page causes, so the
// tests can prove the policy is enforced (the inline canary is refused) and that the
// crypto modules never trip it (no eval, no inline code).
globalThis.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  globalThis.cspViolations.push(`${event.effectiveDirective} ${event.blockedURI} ${event.sourceFile}`);
});
