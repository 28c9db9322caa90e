/**
 * `docker network ls --format` as docker/cli 20.10 writes it (sim/docker/network-ls-format.ts):
 * networkContext's string fields, `table` with its header row through Go's tabwriter, the
 * CLI's own `table` and `raw` formats, `{{json .}}` as formatter.MarshalJSON gives it, Go's
 * time.Time.String() for CreatedAt; anything else said to be not modelled.
 */
import { runSim, twoNodes } from './helpers/run';

async function outputs(commands: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }[]> {
  const { result } = await runSim(twoNodes([
    "  - r0: docker network create --label zone=a lbl",
    ...commands.map((c) => `  - r0: ${JSON.stringify(c)}`),
  ].join('\n') + '\n'));
  return result.steps.slice(-commands.length);
}

describe('docker network ls --format', () => {
  test('fields, table, raw, json and the CLI\'s own formats', async () => {
    const out = await outputs([
      "docker network ls --format '{{.ID}}:{{.Name}}:{{.Driver}}:{{.Scope}}:{{.IPv6}}:{{.Internal}}'",
      "docker network ls --format 'table {{.Name}}\\t{{.Labels}}\\t{{.Internal}}'",
      "docker network ls --no-trunc -f name=lbl --format '{{json .}}'",
      "docker network ls -f name=lbl --format 'table {{json .Name}}\\t{{.CreatedAt}}'",
      'docker network ls -q --format table',
      'docker network ls -f driver=null --format raw',
      "docker network ls --format '{{range .Labels}}x{{end}}'",
      'docker network ls',
    ]);
    const lines = out[0].stdout.trimEnd().split('\n');
    expect(lines.map((l) => l.replace(/^[0-9a-z]{12}:/, 'ID:'))).toEqual([
      'ID:bridge:bridge:local:false:false', 'ID:docker_gwbridge:bridge:local:false:false', 'ID:host:host:local:false:false',
      'ID:ingress:overlay:swarm:false:false', 'ID:lbl:bridge:local:false:false', 'ID:none:null:local:false:false', 'ID:test-net:overlay:swarm:false:false',
    ]);
    // A cell ended by a tab is padded to its column (at least 10, 3 past the widest); the last cell is not.
    expect(out[1].stdout).toBe([
      'NAME              LABELS    INTERNAL', 'bridge                      false', 'docker_gwbridge             false', 'host                        false',
      'ingress                     false', 'lbl               zone=a    false', 'none                        false', 'test-net                    false', '',
    ].join('\n'));
    // Every field method, keys in byte order; the id whole under --no-trunc.
    expect(out[2].stdout).toMatch(/^\{"CreatedAt":"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC","Driver":"bridge","ID":"[0-9a-f]{64}","IPv6":"false","Internal":"false","Labels":"zone=a","Name":"lbl","Scope":"local"\}\n$/);
    // The header's json gives the name as it is; CreatedAt is Go's time.Time.String().
    expect(out[3].stdout).toMatch(/^NAME      CREATED AT\n"lbl"     \d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d*[1-9])? \+0000 UTC\n$/);
    expect(out[4].stdout).toBe(out[0].stdout.split('\n').filter(Boolean).map((l) => l.slice(0, 12) + '\n').join(''));
    expect(out[5].stdout).toMatch(/^network_id: [0-9a-f]{12}\nname: none\ndriver: null\nscope: local\n\n$/);
    expect(out[6]).toEqual({ ...out[6], exitCode: 127, stdout: '' });
    expect(out[6].stderr).toMatch(/^cnmlab: not modelled: docker network ls --format: \{\{range \.Labels\}\} \(the fields /);
    // Without --format, the default table, as before.
    expect(out[7].stdout).toMatch(/^NETWORK ID     NAME              DRIVER    SCOPE\n/);
  });
});

describe('docker network ls --format, as Go writes it', () => {
  async function run(commands: string[]) {
    const { result } = await runSim(twoNodes([
      '  - r0: "docker network create --label \'x=<a&b>\\u2028\\b\' html"',
      ...commands.map((c) => `  - r0: ${JSON.stringify(c)}`),
    ].join('\n') + '\n'));
    return result.steps.slice(-commands.length).map((s) => s.stdout);
  }

  test('the template\'s json leaves <, > and & as they are, {{json .}} (json.Marshal) escapes them; both escape U+2028 and write \\b as \\u0008 (Go before 1.22)', async () => {
    const [labels, name, whole] = await run([
      "docker network ls -f name=html --format '{{json .Labels}}'",
      "docker network ls -f name=html --format '{{json .Name}}'",
      "docker network ls -f name=html --format '{{json .}}'",
    ]);
    expect(labels).toBe('"x=<a&b>\\u2028\\u0008"\n');
    expect(name).toBe('"html"\n');
    expect(whole).toContain('"Labels":"x=\\u003ca\\u0026b\\u003e\\u2028\\u0008"');
  });

  test('table: a line without a tab ends the column blocks, so the names are padded line by line, not to the widest', async () => {
    const [table] = await run(["docker network ls --format 'table {{.Name}}\\t{{.Driver}}\\n{{.Scope}}'"]);
    expect(table.split('\n').slice(0, 6)).toEqual([
      'NAME      DRIVER', 'SCOPE', 'bridge    bridge', 'local', 'docker_gwbridge   bridge', 'local',
    ]);
  });
});
