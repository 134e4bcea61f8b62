"""Development tools that never ship: the PagerDuty sandbox, the benchmarks, and the
PagerDuty contract files the sandbox and the tests check against. The product lives in
`alerts_saas/` and `integrations/`; nothing there imports from here."""
