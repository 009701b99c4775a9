// Prints the layout of the kernel's amd64 SysV IPC structs (uapi headers)
// as "STRUCT size N" and "STRUCT FIELD OFFSET SIZE" lines.
#include <stddef.h>
#include <stdio.h>
#include <linux/ipc.h>
#include <linux/msg.h>
#include <linux/sem.h>
#include <linux/shm.h>

#define S(k, t) printf("%s size %zu\n", k, sizeof(struct t))
#define F(k, t, f, n) printf("%s %s %zu %zu\n", k, n, offsetof(struct t, f), sizeof(((struct t *)0)->f))

int main(void) {
	S("perm", ipc64_perm);
	F("perm", ipc64_perm, key, "key");
	F("perm", ipc64_perm, uid, "uid");
	F("perm", ipc64_perm, gid, "gid");
	F("perm", ipc64_perm, cuid, "cuid");
	F("perm", ipc64_perm, cgid, "cgid");
	F("perm", ipc64_perm, mode, "mode");
	F("perm", ipc64_perm, seq, "seq");

	S("sem", semid64_ds);
	F("sem", semid64_ds, sem_perm, "perm");
	F("sem", semid64_ds, sem_otime, "otime");
	F("sem", semid64_ds, sem_ctime, "ctime");
	F("sem", semid64_ds, sem_nsems, "nsems");

	S("sembuf", sembuf);
	F("sembuf", sembuf, sem_num, "num");
	F("sembuf", sembuf, sem_op, "op");
	F("sembuf", sembuf, sem_flg, "flg");

	S("seminfo", seminfo);
	F("seminfo", seminfo, semmap, "semmap");
	F("seminfo", seminfo, semmni, "semmni");
	F("seminfo", seminfo, semmns, "semmns");
	F("seminfo", seminfo, semmnu, "semmnu");
	F("seminfo", seminfo, semmsl, "semmsl");
	F("seminfo", seminfo, semopm, "semopm");
	F("seminfo", seminfo, semume, "semume");
	F("seminfo", seminfo, semusz, "semusz");
	F("seminfo", seminfo, semvmx, "semvmx");
	F("seminfo", seminfo, semaem, "semaem");

	S("msq", msqid64_ds);
	F("msq", msqid64_ds, msg_perm, "perm");
	F("msq", msqid64_ds, msg_stime, "stime");
	F("msq", msqid64_ds, msg_rtime, "rtime");
	F("msq", msqid64_ds, msg_ctime, "ctime");
	F("msq", msqid64_ds, msg_cbytes, "cbytes");
	F("msq", msqid64_ds, msg_qnum, "qnum");
	F("msq", msqid64_ds, msg_qbytes, "qbytes");
	F("msq", msqid64_ds, msg_lspid, "lspid");
	F("msq", msqid64_ds, msg_lrpid, "lrpid");

	S("msginfo", msginfo);
	F("msginfo", msginfo, msgpool, "msgpool");
	F("msginfo", msginfo, msgmap, "msgmap");
	F("msginfo", msginfo, msgmax, "msgmax");
	F("msginfo", msginfo, msgmnb, "msgmnb");
	F("msginfo", msginfo, msgmni, "msgmni");
	F("msginfo", msginfo, msgssz, "msgssz");
	F("msginfo", msginfo, msgtql, "msgtql");
	F("msginfo", msginfo, msgseg, "msgseg");

	S("shm", shmid64_ds);
	F("shm", shmid64_ds, shm_perm, "perm");
	F("shm", shmid64_ds, shm_segsz, "segsz");
	F("shm", shmid64_ds, shm_atime, "atime");
	F("shm", shmid64_ds, shm_dtime, "dtime");
	F("shm", shmid64_ds, shm_ctime, "ctime");
	F("shm", shmid64_ds, shm_cpid, "cpid");
	F("shm", shmid64_ds, shm_lpid, "lpid");
	F("shm", shmid64_ds, shm_nattch, "nattch");
	return 0;
}
