// The list of APIs this codec speaks, written by tools/gen_messages.py.

/// Calls `$m!` with one `(Name, key, request module, Request, response module, Response)` entry
/// per API this codec speaks.
#[macro_export]
#[doc(hidden)]
macro_rules! for_each_api {
    ($m:ident) => {
        $m! {
            (Produce, 0, produce_request, ProduceRequest, produce_response, ProduceResponse),
            (Fetch, 1, fetch_request, FetchRequest, fetch_response, FetchResponse),
            (ListOffsets, 2, list_offsets_request, ListOffsetsRequest, list_offsets_response, ListOffsetsResponse),
            (Metadata, 3, metadata_request, MetadataRequest, metadata_response, MetadataResponse),
            (OffsetCommit, 8, offset_commit_request, OffsetCommitRequest, offset_commit_response, OffsetCommitResponse),
            (OffsetFetch, 9, offset_fetch_request, OffsetFetchRequest, offset_fetch_response, OffsetFetchResponse),
            (FindCoordinator, 10, find_coordinator_request, FindCoordinatorRequest, find_coordinator_response, FindCoordinatorResponse),
            (SaslHandshake, 17, sasl_handshake_request, SaslHandshakeRequest, sasl_handshake_response, SaslHandshakeResponse),
            (ApiVersions, 18, api_versions_request, ApiVersionsRequest, api_versions_response, ApiVersionsResponse),
            (CreateTopics, 19, create_topics_request, CreateTopicsRequest, create_topics_response, CreateTopicsResponse),
            (DeleteTopics, 20, delete_topics_request, DeleteTopicsRequest, delete_topics_response, DeleteTopicsResponse),
            (InitProducerId, 22, init_producer_id_request, InitProducerIdRequest, init_producer_id_response, InitProducerIdResponse),
            (AddPartitionsToTxn, 24, add_partitions_to_txn_request, AddPartitionsToTxnRequest, add_partitions_to_txn_response, AddPartitionsToTxnResponse),
            (AddOffsetsToTxn, 25, add_offsets_to_txn_request, AddOffsetsToTxnRequest, add_offsets_to_txn_response, AddOffsetsToTxnResponse),
            (EndTxn, 26, end_txn_request, EndTxnRequest, end_txn_response, EndTxnResponse),
            (TxnOffsetCommit, 28, txn_offset_commit_request, TxnOffsetCommitRequest, txn_offset_commit_response, TxnOffsetCommitResponse),
            (DescribeConfigs, 32, describe_configs_request, DescribeConfigsRequest, describe_configs_response, DescribeConfigsResponse),
            (SaslAuthenticate, 36, sasl_authenticate_request, SaslAuthenticateRequest, sasl_authenticate_response, SaslAuthenticateResponse),
            (CreatePartitions, 37, create_partitions_request, CreatePartitionsRequest, create_partitions_response, CreatePartitionsResponse),
            (DescribeCluster, 60, describe_cluster_request, DescribeClusterRequest, describe_cluster_response, DescribeClusterResponse),
            (DescribeProducers, 61, describe_producers_request, DescribeProducersRequest, describe_producers_response, DescribeProducersResponse),
            (DescribeTransactions, 65, describe_transactions_request, DescribeTransactionsRequest, describe_transactions_response, DescribeTransactionsResponse),
            (ListTransactions, 66, list_transactions_request, ListTransactionsRequest, list_transactions_response, ListTransactionsResponse),
            (JoinGroup, 11, join_group_request, JoinGroupRequest, join_group_response, JoinGroupResponse),
            (Heartbeat, 12, heartbeat_request, HeartbeatRequest, heartbeat_response, HeartbeatResponse),
            (LeaveGroup, 13, leave_group_request, LeaveGroupRequest, leave_group_response, LeaveGroupResponse),
            (SyncGroup, 14, sync_group_request, SyncGroupRequest, sync_group_response, SyncGroupResponse),
            (DescribeGroups, 15, describe_groups_request, DescribeGroupsRequest, describe_groups_response, DescribeGroupsResponse),
            (ListGroups, 16, list_groups_request, ListGroupsRequest, list_groups_response, ListGroupsResponse),
            (DeleteGroups, 42, delete_groups_request, DeleteGroupsRequest, delete_groups_response, DeleteGroupsResponse),
            (ConsumerGroupHeartbeat, 68, consumer_group_heartbeat_request, ConsumerGroupHeartbeatRequest, consumer_group_heartbeat_response, ConsumerGroupHeartbeatResponse),
            (ConsumerGroupDescribe, 69, consumer_group_describe_request, ConsumerGroupDescribeRequest, consumer_group_describe_response, ConsumerGroupDescribeResponse),
        }
    };
}
