/**
 * What the tests against the second legacy app (fixtures/legacy-frames)
 * share: the permit mapping, the permit form's steps as a mapping
 * developer writes them (frames by name, inputs by name, pages marked for
 * resuming), the dialog rules, the target's config, submissions with a
 * canary surname, and reads of what the app saved and of the files rekey
 * wrote.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FRAMES_USER } from '../../fixtures/legacy-frames/legacy-frames.js';
import type { Permit } from '../../fixtures/legacy-frames/legacy-frames.store.js';
import type { BrowserConfig, Step } from './browser.config.js';

/** The permit mapping: a submission's `ref`, names, postcode, registration, permit type, blue badge and zone. */
export const FRAMES_MAPPING = `
mapping: permits
key: "{{ref}}"
fields:
  REF: { from: ref, required: true }
  SURNAME: { from: surname, transform: [trim], required: true, pii: true }
  FORENAMES: { from: forenames, pii: true }
  POSTCODE: { from: postcode, required: true, pii: true }
  VRM: { from: vrm, required: true, pii: true }
  PTYPE: { from: permitType }
  BLUE: { from: blueBadge }
  ZONE: { from: zone }
`;

/** The permit form as a mapping developer writes it: frames by name, inputs by name, pages marked for resuming. */
export const FRAMES_STEPS: Step[] = [
  { goto: '/' },
  { frame: { name: 'main', steps: [{ goto: '/permit/start' }] } },
  { page: 'applicant' },
  {
    frame: {
      name: 'main',
      steps: [
        { fill: { name: 'EXTREF', value: '{{REF}}' } },
        { fill: { name: 'APPSNM', value: '{{SURNAME}}' } },
        { fill: { name: 'APPFNM', value: '{{FORENAMES}}' } },
        { fill: { name: 'APPPC', value: '{{POSTCODE}}' } },
        { popup: { open: { selector: 'input[value=Lookup]' }, steps: [{ click: 'input[type=button]' }] } },
        { click: 'input[value="Next >"]' },
        { waitFor: { selector: 'input[name=VRM]' } },
      ],
    },
  },
  { page: 'vehicle' },
  {
    frame: {
      name: 'main',
      steps: [
        { fill: { name: 'VRM', value: '{{VRM}}' } },
        { radio: { name: 'PTYPE', value: '{{PTYPE}}' } },
        { check: { label: 'Blue badge holder', checked: '{{BLUE}}' } },
        { select: { name: 'ZONE', value: '{{ZONE}}' } },
        { click: 'input[value=Save]' },
        { capture: { selector: '#caseref' } },
      ],
    },
  },
];

/** The save confirm accepted; a bad postcode and an ineligible vehicle rejected with the alert's text. */
export const FRAMES_DIALOGS: NonNullable<BrowserConfig['dialogs']> = [
  { on: 'confirm', text: 'Save the application for vehicle', then: 'accept' },
  { on: 'alert', text: 'is not a valid postcode', then: 'reject' },
  { on: 'alert', match: 'is not eligible', then: 'reject' },
];

/** The browser target's config for the app at `url`, evidence under `dir`; `over` and `login` replace parts. */
export function framesConfig(url: string, dir: string, over: Partial<BrowserConfig> = {}, login: Partial<NonNullable<BrowserConfig['login']>> = {}): BrowserConfig {
  return {
    baseUrl: url,
    stepTimeoutMs: 5000,
    contexts: 2,
    evidence: { folder: join(dir, 'evidence') },
    login: {
      username: FRAMES_USER.username,
      password: FRAMES_USER.password,
      steps: [{ goto: '/signin' }, { fill: { name: 'USERID', value: '{{login.username}}' } }, { fill: { name: 'PASSWD', value: '{{login.password}}' } }, { click: 'input[type=submit]' }, { waitFor: { selector: 'frame[name=main]' } }],
      expired: { url: '/signin?expired' },
      budget: 6,
      resume: 'page',
      ...login,
    },
    steps: FRAMES_STEPS,
    dialogs: FRAMES_DIALOGS,
    probe: { steps: [{ goto: '/' }, { frame: { name: 'main', steps: [{ goto: '/permit/find?q={{REF}}' }] } }], frame: 'main', found: '#results td.ref', notFound: '#none' },
    ...over,
  };
}

const TYPES = ['Resident', 'V', 'B', 'Visitor', 'R'];
const ZONES = ['A', 'B', 'C', 'D'];

/** A canary surname: searched for in everything rekey wrote. */
export const framesCanary = () => `Canarywright${randomBytes(3).toString('hex')}`;

/** Submission `i` (`ref` WEB-<1000+i>), a canary surname; `over` replaces fields. */
export function framesSubmission(i: number, over: Record<string, unknown> = {}): Record<string, unknown> {
  return { ref: `WEB-${String(1000 + i)}`, surname: framesCanary(), forenames: 'Ann Marie', postcode: ['SW1A 1AA', 'm1 1ae', 'CF10 1EP'][i % 3], vrm: `AB${String(10 + (i % 90))} ${'CDE'}`, permitType: TYPES[i % TYPES.length], blueBadge: [true, 'no', 'yes', false][i % 4], zone: ZONES[i % 4], ...over };
}

/** Every permit the app at `url` saved, in order (its `/__admin/saved`). */
export async function savedPermits(url: string): Promise<Permit[]> {
  return (await (await fetch(`${url}/__admin/saved`)).json()) as Permit[];
}

/** How many permits the app saved under each "Your reference". */
export function perReference(permits: readonly Permit[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of permits) out.set(p.extRef, (out.get(p.extRef) ?? 0) + 1);
  return out;
}

/** Every file under `root` whose bytes hold `text`. */
export function filesHolding(root: string, text: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((f) => f.isFile())
    .map((f) => join(f.parentPath, f.name))
    .filter((p) => readFileSync(p).includes(Buffer.from(text)));
}
