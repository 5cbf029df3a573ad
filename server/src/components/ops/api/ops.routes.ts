/** Staff routes for tasks and notes (/ops/v1/tasks, /ops/v1/notes); the same use cases as the replica's pushes. */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requestActor } from '../../../platform/http/actor.js';
import type { OpsService } from '../domain/ops-service.js';
import { staffCan } from '../../../platform/http/route-config.js';

const oneOf = <T extends string>(values: readonly T[]) => Type.Unsafe<T>({ type: 'string', enum: [...values] });
const TaskKind = oneOf(['cleaning', 'refuel', 'repair', 'inspection'] as const);
const TaskStatus = oneOf(['open', 'assigned', 'done', 'cancelled'] as const);
const Id = Type.String({ minLength: 1, maxLength: 100 });
const NullableStr = (max: number) => Type.Union([Type.String({ minLength: 1, maxLength: max }), Type.Null()]);
const NullableMs = Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]);

const CreateTaskBody = Type.Object(
  {
    id: Type.Optional(Id),
    vehicleId: Id,
    kind: TaskKind,
    status: Type.Optional(oneOf(['open', 'assigned'] as const)),
    assignee: Type.Optional(NullableStr(100)),
    note: Type.Optional(Type.String({ maxLength: 2000 })),
    alertId: Type.Optional(NullableStr(100)),
    dueAt: Type.Optional(NullableMs),
  },
  { additionalProperties: false },
);
const PatchTaskBody = Type.Object(
  {
    vehicleId: Type.Optional(Id),
    kind: Type.Optional(TaskKind),
    status: Type.Optional(TaskStatus),
    assignee: Type.Optional(NullableStr(100)),
    note: Type.Optional(Type.String({ maxLength: 2000 })),
    alertId: Type.Optional(NullableStr(100)),
    dueAt: Type.Optional(NullableMs),
  },
  { additionalProperties: false, minProperties: 1 },
);
const TaskList = Type.Object({
  vehicleId: Type.Optional(Id),
  status: Type.Optional(TaskStatus),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
});
const CreateNoteBody = Type.Object(
  {
    id: Type.Optional(Id),
    targetType: oneOf(['vehicle', 'alert', 'customer', 'rental'] as const),
    targetId: Id,
    text: Type.String({ minLength: 1, maxLength: 4000 }),
  },
  { additionalProperties: false },
);
const NoteList = Type.Object({
  targetType: oneOf(['vehicle', 'alert', 'customer', 'rental'] as const),
  targetId: Id,
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
});

export function opsRoutes(ops: OpsService, prefix: string): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/tasks', { config: { auth: staffCan('task.read') }, schema: { querystring: TaskList } }, async (request) => ({
      tasks: await ops.listTasks(request.query),
    }));
    app.get('/tasks/:id', { config: { auth: staffCan('task.read') }, schema: { params: Type.Object({ id: Id }) } }, async (request) =>
      ops.getTask(request.params.id),
    );
    app.post('/tasks', { config: { auth: staffCan('task.work') }, schema: { body: CreateTaskBody } }, async (request, reply) => {
      const { task, created } = await ops.createTask(request.body, requestActor(request));
      return reply
        .code(created ? 201 : 200)
        .header('location', `${prefix}/tasks/${encodeURIComponent(task.id)}`)
        .send(task);
    });
    app.patch(
      '/tasks/:id',
      { config: { auth: staffCan('task.work') }, schema: { params: Type.Object({ id: Id }), body: PatchTaskBody } },
      async (request) => {
        const { task } = await ops.updateTask(request.params.id, request.body, requestActor(request));
        return task;
      },
    );
    app.post('/notes', { config: { auth: staffCan('note.vehicle') }, schema: { body: CreateNoteBody } }, async (request, reply) => {
      const { note, created } = await ops.createNote(request.body, requestActor(request));
      return reply.code(created ? 201 : 200).send(note);
    });
    app.get('/notes', { config: { auth: staffCan('note.vehicle') }, schema: { querystring: NoteList } }, async (request) => ({
      notes: await ops.listNotes(request.query.targetType, request.query.targetId, request.query.limit, requestActor(request)),
    }));
  };
}
