import { z } from 'zod';
import { callerOf } from './authenticate-caller';
import type { FrontDoorApp, FrontDoorContext } from './front-door-context';
import { FRONT_DOOR_FAILURE_TYPES, FrontDoorError, openAiErrorBodySchema } from './openai-error';
import type { TaskModel } from './task-models';

const modelSchema = z.object({
  id: z.string().describe('gatehouse-<task type>: pass it as `model`'),
  object: z.literal('model'),
  created: z.number().int(),
  owned_by: z.literal('gatehouse'),
  gatehouse: z.object({
    taskType: z.string(),
    routes: z
      .array(z.object({ id: z.string(), label: z.string(), degraded: z.boolean() }))
      .describe('Routes that may answer, in the order tried, after the tenant’s allowlist, tier and policy'),
  }),
});

const modelListSchema = z.object({ object: z.literal('list'), data: z.array(modelSchema) });

function modelOf(model: TaskModel, created: number): z.infer<typeof modelSchema> {
  return {
    id: model.id,
    object: 'model',
    created,
    owned_by: 'gatehouse',
    gatehouse: { taskType: model.taskType, routes: model.routes },
  };
}

/** `GET /v1/models` and `GET /v1/models/{model}`: the task types the key's principal may request. */
export function registerModelsRoutes(app: FrontDoorApp, context: FrontDoorContext): void {
  app.get(
    '/models',
    {
      schema: {
        summary: 'List the models (task types) this API key may use, with their routes',
        tags: ['OpenAI-compatible'],
        response: { 200: modelListSchema, default: openAiErrorBodySchema },
      },
    },
    async (request) => {
      const models = await context.directory.taskModels(callerOf(request).holder);
      return {
        object: 'list' as const,
        data: models.map((model) => modelOf(model, context.startedAtSeconds)),
      };
    },
  );

  app.get(
    '/models/:model',
    {
      schema: {
        summary: 'Describe one model (task type) this API key may use',
        tags: ['OpenAI-compatible'],
        params: z.object({ model: z.string() }),
        response: { 200: modelSchema, default: openAiErrorBodySchema },
      },
    },
    async (request) => {
      const models = await context.directory.taskModels(callerOf(request).holder);
      const model = models.find((candidate) => candidate.id === request.params.model);
      if (!model) {
        throw new FrontDoorError(
          FRONT_DOOR_FAILURE_TYPES.modelNotFound,
          `The model '${request.params.model}' does not exist or your API key may not use it`,
          { param: 'model' },
        );
      }
      return modelOf(model, context.startedAtSeconds);
    },
  );
}
