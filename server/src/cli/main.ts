#!/usr/bin/env node
/** `pixels edit | models | serve | worker`: one entry point; each command lives in its own module. */

const USAGE = `usage: pixels <command> [options]

commands:
  edit     run one edit on image files (pixels edit --help)
  models   list, pull or verify models (pixels models --help)
  serve    start the team server (pixels serve --help)
  worker   run edits for a team server on Redis (pixels worker --help)`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'edit':
      return (await import('./edit.ts')).runEdit(rest);
    case 'models':
      return (await import('./models.ts')).runModels(rest);
    case 'serve':
      return (await import('./serve.ts')).runServe(rest);
    case 'worker':
      return (await import('./worker.ts')).runWorker(rest);
    case undefined:
    case '--help':
    case '-h':
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      console.error(`pixels: unknown command '${command}'\n${USAGE}`);
      return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
