"""Sync worker: consumes the FIFO sync queue. Today it delivers connection outboxes to public partners;
the sync engine adds change processing to the same queue. Partial batch failures are reported per record."""

from __future__ import annotations

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from twinbridge.observability import logger, metrics
from twinbridge.services.work import handle_work_item
from twinbridge.wiring import wiring

# A failing record holds back only its own message group (one tracker item or one connection), not the batch.
processor = SqsFifoPartialProcessor(skip_group_on_error=True)


def record_handler(record: SQSRecord) -> None:
    handle_work_item(wiring(), record.json_body)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
