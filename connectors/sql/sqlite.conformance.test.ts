/** The `sqlite` target runs the conformance suite: a legacy table made by `setupSql` in a database file of each scenario's own. */
import { targetConformance } from '../conformance/target.conformance.js';
import { sqliteConformance } from './sqlite.test-helpers.js';

targetConformance(sqliteConformance);
