//! A model consumer driving the classic protocol the way Kafka clients do, for the multi-member
//! and random-operation tests.

use super::*;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Phase {
    NeedJoin,
    NeedSync { leader: bool, members: Vec<String> },
    Stable,
}

pub(super) struct Client {
    pub name: String,
    pub instance: Option<String>,
    pub member_id: String,
    pub generation: i32,
    pub phase: Phase,
    pub inflight: Option<RequestId>,
    /// UNKNOWN_MEMBER_ID answers to a member id this client was handed and never lost.
    pub unknown_member: usize,
    pub last_heartbeat: Option<ErrorCode>,
}

/// Small seeded generator for interleavings.
pub(super) struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

impl Client {
    pub fn new(name: &str, instance: Option<&str>) -> Self {
        Client {
            name: name.to_string(),
            instance: instance.map(str::to_string),
            member_id: String::new(),
            generation: -1,
            phase: Phase::NeedJoin,
            inflight: None,
            unknown_member: 0,
            last_heartbeat: None,
        }
    }

    /// Forgets everything, as a restarted process would (a static one keeps its instance id).
    pub fn restart(&mut self) {
        let instance = self.instance.clone();
        *self = Client::new(&self.name, instance.as_deref());
    }

    fn reset(&mut self) {
        self.member_id.clear();
        self.generation = -1;
        self.phase = Phase::NeedJoin;
    }

    fn on_error(&mut self, e: ErrorCode) {
        match e {
            ErrorCode::UnknownMemberId => {
                self.unknown_member += 1;
                self.reset();
            }
            ErrorCode::FencedInstanceId => self.reset(),
            _ => self.phase = Phase::NeedJoin,
        }
    }

    fn receive(&mut self, resp: GroupResponse) {
        match resp {
            GroupResponse::Join(j) => match j.error {
                ErrorCode::MemberIdRequired => {
                    self.member_id = j.member_id;
                    self.phase = Phase::NeedJoin;
                }
                ErrorCode::None => {
                    self.member_id = j.member_id.clone();
                    self.generation = j.generation_id;
                    let leader = j.leader == j.member_id && !j.skip_assignment;
                    let members = j.members.into_iter().map(|m| m.member_id).collect();
                    self.phase = Phase::NeedSync { leader, members };
                }
                e => self.on_error(e),
            },
            GroupResponse::Sync(s) => match s.error {
                ErrorCode::None => self.phase = Phase::Stable,
                e => self.on_error(e),
            },
            GroupResponse::Heartbeat(h) => {
                self.last_heartbeat = Some(h.error);
                if h.error != ErrorCode::None {
                    self.on_error(h.error);
                }
            }
            _ => {}
        }
    }

    /// Reads an answer if one came, otherwise sends the next request if none is in flight.
    pub fn step(&mut self, h: &mut Harness) {
        if let Some(id) = self.inflight {
            match h.answers.remove(&id) {
                Some(resp) => {
                    self.inflight = None;
                    self.receive(resp);
                }
                None => return,
            }
        }
        let req = match &self.phase {
            Phase::NeedJoin => GroupRequest::Join(JoinGroup {
                group_instance_id: self.instance.clone(),
                ..join_req(&self.member_id, &self.name)
            }),
            Phase::NeedSync { leader, members } => {
                let assignments = if *leader {
                    members
                        .iter()
                        .map(|m| (m.clone(), Bytes::from(format!("a-{m}"))))
                        .collect()
                } else {
                    Vec::new()
                };
                GroupRequest::Sync(SyncGroup {
                    group_instance_id: self.instance.clone(),
                    ..sync_req(&self.member_id, self.generation, assignments)
                })
            }
            Phase::Stable => GroupRequest::Heartbeat(Heartbeat {
                group_instance_id: self.instance.clone(),
                ..heartbeat_req(&self.member_id, self.generation)
            }),
        };
        self.inflight = Some(h.send(req));
    }

    pub fn leave(&mut self, h: &mut Harness) {
        let member = LeavingMember {
            member_id: self.member_id.clone(),
            group_instance_id: self.instance.clone(),
            reason: None,
        };
        h.send(GroupRequest::Leave(LeaveGroup {
            group_id: GROUP.into(),
            members: vec![member],
        }));
        self.restart();
    }

    pub fn commit(&mut self, h: &mut Harness) {
        let part = OffsetCommitPartition {
            partition: 0,
            committed_offset: 1,
            ..Default::default()
        };
        h.send(GroupRequest::OffsetCommit(OffsetCommit {
            api_version: 9,
            group_id: GROUP.into(),
            generation_id: self.generation,
            member_id: self.member_id.clone(),
            group_instance_id: self.instance.clone(),
            topics: vec![OffsetCommitTopic {
                name: "t".into(),
                partitions: vec![part],
            }],
        }));
    }
}

/// Steps every client in a seeded shuffled order, 100 ms apart, until all are Stable in the
/// group's current generation with a clean heartbeat. Returns the rounds it took.
pub(super) fn converge(
    h: &mut Harness,
    clients: &mut [Client],
    rng: &mut Rng,
    max_rounds: usize,
) -> usize {
    let mut order: Vec<usize> = (0..clients.len()).collect();
    for round in 0..max_rounds {
        rng.shuffle(&mut order);
        for &i in &order {
            clients[i].step(h);
        }
        h.advance(100);
        let generation = h.c.generation(GROUP);
        let done = h.c.group_state(GROUP) == Some(GroupState::Stable)
            && h.c.groups.get(GROUP).map(|g| g.members.len()) == Some(clients.len())
            && clients.iter().all(|c| {
                c.phase == Phase::Stable
                    && Some(c.generation) == generation
                    && c.last_heartbeat == Some(ErrorCode::None)
            });
        if done {
            return round;
        }
    }
    panic!("clients did not converge in {max_rounds} rounds");
}
