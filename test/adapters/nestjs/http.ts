/**
 * A Nest HTTP app whose two routes share `@Turn("counter")`, with `@Get()`
 * above `@Turn` on one and below it on the other. A handler holds its turn
 * until the test pushes to `counter:release`. `/impatient` gives up after
 * 200 ms, which an exception filter answers with 409 Conflict.
 *
 * @module
 */

import {
  type ArgumentsHost,
  Catch,
  ConflictException,
  Controller,
  Get,
  Module,
} from "@nestjs/common";
import {
  BaseExceptionFilter,
  HttpAdapterHost,
  NestFactory,
} from "@nestjs/core";
import type { AddressInfo } from "node:net";
import { currentTurn, Turn, TurnModule } from "../../../adapters/nestjs.ts";
import { TimeoutError } from "../../../mod.ts";
import {
  awaitSignal,
  client,
  LOGGER,
  redisUrl,
  say,
  witnessed,
} from "./fixture.ts";

const redis = client();

async function count(): Promise<{ number: number }> {
  return await witnessed(redis, "counter", async () => {
    await awaitSignal(redis, "counter:release");
    return { number: currentTurn().locks[0].number };
  });
}

/** A turn that did not come in time is a 409 Conflict, not a 500. */
@Catch(TimeoutError)
class BusyFilter extends BaseExceptionFilter {
  override catch(error: TimeoutError, host: ArgumentsHost): void {
    super.catch(new ConflictException(error.message), host);
  }
}

@Controller()
class CounterController {
  @Get("above")
  @Turn("counter")
  above(): Promise<{ number: number }> {
    return count();
  }

  @Turn("counter")
  @Get("below")
  below(): Promise<{ number: number }> {
    return count();
  }

  @Get("impatient")
  @Turn("counter", { timeout: 200 })
  impatient(): Promise<{ number: number }> {
    return count();
  }
}

@Module({
  imports: [TurnModule.forRoot({ url: redisUrl() })],
  controllers: [CounterController],
})
class AppModule {}

const app = await NestFactory.create(AppModule, { logger: [...LOGGER] });
app.enableShutdownHooks(["SIGINT", "SIGTERM"]);
app.useGlobalFilters(new BusyFilter(app.get(HttpAdapterHost).httpAdapter));
await app.listen(0, "127.0.0.1");
const { port } = app.getHttpServer().address() as AddressInfo;
say("READY", { port });
