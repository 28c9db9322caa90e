/** docs/commands.md is generated from the command registry; a change to the registry without `npm run docs` fails here. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { commandsMarkdown } from '../sim/commands/doc';
// dockerd's lifecycle registers its rows as the shell loads it, and `npm run docs` loads it so (jest's setup loads the drivers only).
import '../sim/runner/control-plane';
import { registeredCommands } from '../sim/commands/registry';
import { DOCKER_COMMANDS } from '../sim/commands/docker';
import { REPO } from './helpers/env';
import { cnmlab } from './helpers/tshark';

test('docs/commands.md is what `npm run docs` writes from the registry today', () => {
  const file = path.join(REPO, 'docs', 'commands.md');
  expect(fs.existsSync(file)).toBe(true);
  const committed = fs.readFileSync(file, 'utf8');
  if (committed !== commandsMarkdown()) throw new Error('docs/commands.md is stale: run `npm run docs` and commit it');
});

test('the generated list names every program and docker command the registry declares', () => {
  const md = commandsMarkdown();
  for (const e of registeredCommands()) for (const f of e.forms) expect(md).toContain(f.synopsis.replace(/\|/g, '\\|'));
  for (const c of DOCKER_COMMANDS) expect(md).toContain(`docker ${[...c.path.slice(0, -1), c.use].join(' ')}`);
});

describe('the repository\'s own docs', () => {
  test('README and --help cite no document outside the repository, and every docs/ link exists', () => {
    const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
    expect(readme).not.toMatch(/DESIGN/);
    for (const [, target] of readme.matchAll(/\]\(((?:docs\/)[^)#]+)/g)) expect(fs.existsSync(path.join(REPO, target))).toBe(true);
    const help = cnmlab(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).not.toMatch(/DESIGN/);
    expect(help.stdout).toContain('docs/scenarios.md');
    expect(help.stdout).toContain('docs/commands.md');
  });

  test('a run\'s summary lists the steps that were not modelled', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-doc-'));
    const file = path.join(dir, 'lab.yaml');
    fs.writeFileSync(file, 'name: t\nhosts:\n  r0: {}\nsteps:\n  - r0: docker logs x\n  - r0: docker swarm init\n');
    const r = cnmlab(['run', file]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('cnmlab: not modelled: docker logs x\n');
    expect(r.stdout).toContain(`1 step(s) not modelled, so they ran nothing: step 1 (${file}:5) docker logs x\n`);
    fs.rmSync(dir, { recursive: true });
  });
});
