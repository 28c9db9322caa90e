/** Writes docs/commands.md from the command registry (`npm run docs`), once the drivers' front ends and dockerd's lifecycle have registered their programs in it. */
import '../sim/drivers';
import '../sim/runner/control-plane';
import * as fs from 'fs';
import * as path from 'path';
import { commandsMarkdown } from '../sim/commands/doc';

const file = path.join(__dirname, '..', 'docs', 'commands.md');
fs.writeFileSync(file, commandsMarkdown());
process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`);
