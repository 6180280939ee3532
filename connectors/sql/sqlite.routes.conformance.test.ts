/**
 * The `sqlite` target runs the conformance suite as the only route of a
 * routed pipeline (issue 19): the same scenarios, kill points included, with
 * the source read into the route's lane (`conformance~legacy`) and the
 * route's own pass delivering from it, beside the reading; every
 * expectation on the ledger and the audit log is on the lane, and the
 * run's counts are the reading's plus the route's.
 */
import { targetConformance } from '../conformance/target.conformance.js';
import { sqliteConformance } from './sqlite.test-helpers.js';

// Also killed while reading into the lane: after its second batch is recorded, before the source commits. The route
// delivers beside the reading what it admits, so whether the first batch reached the legacy system by then varies: no count.
targetConformance({ ...sqliteConformance, name: 'sqlite (as a route)', route: 'legacy', crashAt: [{ at: 'after-receive:2' }, ...sqliteConformance.crashAt] });
