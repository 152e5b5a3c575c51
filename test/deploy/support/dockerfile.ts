/** A Dockerfile read the way BuildKit reads it: comments dropped, `\` continuations joined, one stage per FROM. */

export interface DockerInstruction {
  keyword: string;
  /** The text after the keyword, continuations joined with a space. */
  args: string;
  /** The exec (JSON array) form when the instruction uses it. */
  execForm?: string[];
}

export interface DockerStage {
  /** The image or earlier stage named in FROM. */
  from: string;
  /** The name given with `AS`, if any. */
  name?: string;
  instructions: DockerInstruction[];
}

export function parseDockerfile(text: string): DockerStage[] {
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (pending === '' && /^\s*#/.test(line)) continue;
    if (pending !== '' && /^\s*#/.test(line)) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    const complete = `${pending}${line.trim()}`.trim();
    pending = '';
    if (complete !== '') logical.push(complete);
  }
  if (pending.trim() !== '') logical.push(pending.trim());

  const stages: DockerStage[] = [];
  for (const line of logical) {
    const match = /^(\S+)\s*(.*)$/.exec(line);
    if (!match) continue;
    const keyword = match[1]!.toUpperCase();
    const args = match[2]!.trim();
    if (keyword === 'FROM') {
      const from = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!from) throw new Error(`unreadable FROM: ${args}`);
      stages.push({ from: from[1]!, name: from[2], instructions: [] });
      continue;
    }
    const stage = stages[stages.length - 1];
    if (stage === undefined) {
      if (keyword === 'ARG') continue;
      throw new Error(`${keyword} before the first FROM`);
    }
    let execForm: string[] | undefined;
    if (args.startsWith('[')) {
      try {
        const parsed: unknown = JSON.parse(args);
        if (Array.isArray(parsed) && parsed.every((item) => typeof item === 'string')) execForm = parsed;
      } catch {
        // Not JSON: the shell form, as BuildKit would read it.
      }
    }
    stage.instructions.push({ keyword, args, execForm });
  }
  return stages;
}

/** `KEY=value` pairs of every ENV instruction of a stage (the `ENV KEY value` form included). */
export function stageEnvironment(stage: DockerStage): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const instruction of stage.instructions.filter((entry) => entry.keyword === 'ENV')) {
    const pairs = [...instruction.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)];
    if (pairs.length === 0) {
      const [key, ...rest] = instruction.args.split(/\s+/);
      if (key) environment[key] = rest.join(' ');
    }
    for (const pair of pairs) environment[pair[1]!] = pair[2]!.replace(/^"|"$/g, '');
  }
  return environment;
}
