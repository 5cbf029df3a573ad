export { createHttpServer, listenHttp, type HttpApp, type ReadinessCheck } from './server.js';
export { problem, sendProblem, PROBLEM_CONTENT_TYPE, type Problem } from './problem.js';
